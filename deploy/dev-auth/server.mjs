// DEVELOPMENT ONLY - NOT FOR PRODUCTION. It authenticates nobody: it trusts
// whatever "<userid>:<clientid>" the caller sends (see claim.mjs).
// Stand-in for Beep's backend-auth behind traefik's forwardAuth: 200 plus an
// X-User-Claim header to let the request through, 401 to stop it.
// Plain node:http, no dependencies. Env: PORT (default 4000, 0 = any free
// port), HOST (default 0.0.0.0).
import { createServer } from 'node:http';
import { claimFromRequest, claimHeader } from './claim.mjs';

const server = createServer((req, res) => {
  const claim = claimFromRequest({
    authorization: req.headers.authorization,
    // traefik sends the client's path+query as X-Forwarded-Uri; fall back to
    // our own URL so `curl 'localhost:4000/?token=a:b'` works when debugging.
    // (Node joins repeated non-set-cookie headers, so this is a string.)
    forwardedUri: /** @type {string | undefined} */ (req.headers['x-forwarded-uri']) ?? req.url,
  });
  if (!claim) {
    res.writeHead(401, { 'content-type': 'text/plain' }).end('unauthorized (dev-auth)\n');
    return;
  }
  res.writeHead(200, { 'x-user-claim': claimHeader(claim), 'content-length': '0' }).end();
});

const port = Number(process.env.PORT ?? 4000);
server.listen(port, process.env.HOST ?? '0.0.0.0', () => {
  const { address, port: actual } = /** @type {import('node:net').AddressInfo} */ (server.address());
  // Tests wait for this line to learn the port; keep its format.
  console.log(`dev-auth listening on ${address}:${actual} (DEVELOPMENT ONLY, NOT FOR PRODUCTION)`);
});

// As PID 1 in a container Node gets no default SIGTERM handling: exit promptly.
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => server.close(() => process.exit(0)).closeAllConnections());
}
