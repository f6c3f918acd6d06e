import { createServer, request, type Server } from 'node:http';
import { claimFromRequest, claimHeader } from '../../deploy/dev-auth/claim.mjs';

/**
 * What traefik does in front of heartbeat (deploy/traefik/dynamic.yml), in one small process:
 * forward-auth with dev-auth's rules (deploy/dev-auth/claim.mjs: `Authorization: Bearer
 * user:client` or `?token=user:client`) turns the credential into X-User-Claim, a client-sent
 * X-User-Claim is dropped, no credential is a 401; a CORS preflight (OPTIONS) passes without
 * auth, as the preflight router does. It connects to heartbeat from 127.0.0.1: the default
 * TRUSTED_PROXIES (loopback) trusts it.
 */
export class ClaimProxy {
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<ClaimProxy> {
    const server = createServer((req, res) => {
      const headers = { ...req.headers };
      delete headers['x-user-claim'];
      if (req.method !== 'OPTIONS') {
        const claim = claimFromRequest({ authorization: req.headers.authorization, forwardedUri: req.url });
        if (!claim) return void res.writeHead(401, { 'content-type': 'text/plain' }).end('unauthorized (dev-auth)\n');
        headers['x-user-claim'] = claimHeader(claim);
      }
      const upstream = request({ host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      res.on('close', () => upstream.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new ClaimProxy(server, (server.address() as { port: number }).port);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
