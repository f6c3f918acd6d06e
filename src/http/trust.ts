import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { HttpResponse } from './uws.js';

const CACHE_LIMIT = 1024;

/**
 * Loopback and the private ranges: a claim refused from one of them most likely comes from the
 * proxy itself, on a network TRUSTED_PROXIES does not name yet (logged once per peer).
 */
const LOCAL_RANGES = Object.freeze(['127.0.0.0/8', '::1/128', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7']);

export interface ProxyTrustOptions {
  /**
   * A claim was refused from a peer on loopback or in a private range (10/8, 172.16/12,
   * 192.168/16, fc00::/7): most likely the proxy itself, on a network TRUSTED_PROXIES does not
   * name yet. Called once per peer (for the first CACHE_LIMIT such peers), so a first deployment
   * says how to fix it. Default: nothing.
   */
  onLocalPeerRefused?: (address: string) => void;
}

/**
 * Which peers may send X-User-Claim: the proxies (traefik) that put it there after forward-auth.
 * Anyone else could claim to be any user.
 */
export class ProxyTrust {
  private readonly list: BlockList | null;
  /**
   * Answers per peer address: a ping comes from one of a few proxies, and BlockList.check builds
   * a SocketAddress per call (a visible share of a ping's CPU: BENCHMARKS.md, `ping`). Keyed by the
   * address's text, or for an IPv4 peer (also IPv4-mapped) by its 32 bits as a small integer.
   * Bounded: emptied when it holds CACHE_LIMIT addresses, so a scan from many addresses cannot grow it.
   */
  private readonly cache = new Map<string | number, boolean>();
  private readonly localRanges = blockListOf(LOCAL_RANGES);
  /** Local peers already reported by onLocalPeerRefused. */
  private readonly reported = new Set<string>();

  constructor(
    trusted: readonly string[] | '*',
    private readonly options: ProxyTrustOptions = {},
  ) {
    if (trusted === '*') {
      this.list = null;
      return;
    }
    this.list = blockListOf(trusted);
  }

  /**
   * A request carrying a claim was refused because its peer is not trusted: reports a local
   * peer once. Only refusals come here, so the hot path (a trusted proxy) never pays for it.
   */
  claimRefused(res: HttpResponse): void {
    if (!this.options.onLocalPeerRefused || this.reported.size >= CACHE_LIMIT) return;
    const raw = new Uint8Array(res.getRemoteAddress());
    // An IPv4 peer (also IPv4-mapped) in dotted form: what an operator writes in TRUSTED_PROXIES.
    const v4 = ipv4Offset(raw);
    const address = v4 < 0 ? addressText(raw) : raw.subarray(v4, v4 + 4).join('.');
    if (this.reported.has(address) || !this.check(this.localRanges, address)) return;
    this.reported.add(address);
    this.options.onLocalPeerRefused(address);
  }

  isTrusted(address: string): boolean {
    return this.list === null || this.lookup(this.list, address, address);
  }

  /**
   * The peer of a request. Read in binary (`getRemoteAddress`), not as text: every ping asks, and
   * the text form costs a string to build and decode each time (the binary form is cheaper, and
   * most of both is the `getpeername(2)` they make: `bench/probes/ping-edge.ts` measures them).
   * The text is made only on a cache miss, in uWS's own format.
   */
  isTrustedPeer(res: HttpResponse): boolean {
    if (this.list === null) return true;
    const raw = new Uint8Array(res.getRemoteAddress());
    const v4 = ipv4Offset(raw);
    // `| 0`: a signed 32-bit integer stays a small integer, so the lookup allocates nothing.
    const key = v4 < 0 ? addressText(raw) : (raw[v4] << 24) | (raw[v4 + 1] << 16) | (raw[v4 + 2] << 8) | raw[v4 + 3] | 0;
    return this.lookup(this.list, key, raw);
  }

  private lookup(list: BlockList, key: string | number, address: string | Uint8Array): boolean {
    let trusted = this.cache.get(key);
    if (trusted === undefined) {
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      trusted = this.check(list, typeof address === 'string' ? address : addressText(address));
      this.cache.set(key, trusted);
    }
    return trusted;
  }

  private check(list: BlockList, address: string): boolean {
    // A dual-stack socket reports IPv4 peers IPv4-mapped (uWS: 0000:…:ffff:7f00:0002); BlockList
    // matches mapped addresses against IPv4 rules by itself.
    if (isIPv4(address)) return list.check(address, 'ipv4');
    if (isIPv6(address)) return list.check(address, 'ipv6');
    return false;
  }
}

function blockListOf(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address, bits] = entry.split('/');
    const type = isIPv6(address) ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(bits), type);
  }
  return list;
}

/**
 * Where the IPv4 address starts in a binary peer address: 0 for 4 bytes, 12 for an IPv4-mapped
 * IPv6 address (`::ffff:a.b.c.d`, how a dual-stack socket reports IPv4 peers), -1 for IPv6.
 * Both forms share a key: a process listens on one socket, so its peers all come in one form (and
 * BlockList gives both forms the same answer).
 */
function ipv4Offset(raw: Uint8Array): number {
  if (raw.length === 4) return 0;
  for (let i = 0; i < 10; i++) if (raw[i] !== 0) return -1;
  return raw[10] === 0xff && raw[11] === 0xff ? 12 : -1;
}

/**
 * A binary address as uWS's getRemoteAddressAsText writes it: dotted IPv4, or 8 groups of 4 hex digits.
 * @internal exported for its test against uWS's own text
 */
export function addressText(raw: Uint8Array): string {
  if (raw.length === 4) return raw.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((raw[i] << 8) | raw[i + 1]).toString(16).padStart(4, '0'));
  return groups.join(':');
}
