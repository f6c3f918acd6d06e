import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { HttpResponse } from './uws.js';
import { textOf } from './uws.js';

const CACHE_LIMIT = 1024;

/**
 * Which peers may send X-User-Claim: the proxies (traefik) that put it there after forward-auth.
 * Anyone else could claim to be any user.
 */
export class ProxyTrust {
  private readonly list: BlockList | null;
  /**
   * Answers per peer address: a ping comes from one of a few proxies, and BlockList.check builds
   * a SocketAddress per call (~1 µs, 4% of a ping's CPU in the bench profile). Bounded: emptied
   * when it holds CACHE_LIMIT addresses, so a scan from many addresses cannot grow it.
   */
  private readonly cache = new Map<string, boolean>();

  constructor(trusted: readonly string[] | '*') {
    if (trusted === '*') {
      this.list = null;
      return;
    }
    this.list = new BlockList();
    for (const entry of trusted) {
      const [address, bits] = entry.split('/');
      const type = isIPv6(address) ? 'ipv6' : 'ipv4';
      if (bits === undefined) this.list.addAddress(address, type);
      else this.list.addSubnet(address, Number(bits), type);
    }
  }

  isTrusted(address: string): boolean {
    if (this.list === null) return true;
    let trusted = this.cache.get(address);
    if (trusted === undefined) {
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      trusted = this.check(this.list, address);
      this.cache.set(address, trusted);
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

  isTrustedPeer(res: HttpResponse): boolean {
    return this.list === null || this.isTrusted(textOf(res.getRemoteAddressAsText()));
  }
}
