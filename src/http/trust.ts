import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { HttpResponse } from './uws.js';
import { textOf } from './uws.js';

/**
 * Which peers may send X-User-Claim: the proxies (traefik) that put it there after forward-auth.
 * Anyone else could claim to be any user.
 */
export class ProxyTrust {
  private readonly list: BlockList | null;

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
    // A dual-stack socket reports IPv4 peers IPv4-mapped; uWS writes them in full
    // (0000:…:ffff:7f00:0002), which BlockList matches against IPv4 rules by itself; the short
    // ::ffff:a.b.c.d form is unmapped here.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    const plain = mapped ? mapped[1] : address;
    if (isIPv4(plain)) return this.list.check(plain, 'ipv4');
    if (isIPv6(plain)) return this.list.check(plain, 'ipv6');
    return false;
  }

  isTrustedPeer(res: HttpResponse): boolean {
    return this.list === null || this.isTrusted(textOf(res.getRemoteAddressAsText()));
  }
}
