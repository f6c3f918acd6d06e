// DEVELOPMENT ONLY - NOT FOR PRODUCTION. It authenticates nobody: it trusts
// whatever "<userid>:<clientid>" the caller sends (see claim.mjs).
// Stand-in for Beep's backend-auth behind traefik's forwardAuth: 200 plus an
// X-User-Claim header to let the request through, 401 to stop it.
// Also a stand-in for backend-core's GET /user/contact (heartbeat's
// WATCH_POLICY=contacts): the caller's contacts from contacts.json, read on
// every call so edits apply at once.
// Plain node:http, no dependencies. Env: PORT (default 4000, 0 = any free
// port), HOST (default 0.0.0.0), CONTACTS_FILE (default contacts.json next to
// this file).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { claimFromRequest, claimHeader } from './claim.mjs';

const contactsFile = process.env.CONTACTS_FILE || fileURLToPath(new URL('contacts.json', import.meta.url));

/**
 * backend-core's contract: the X-User-Claim heartbeat received, forwarded as is; 400 without a
 * valid one; else a JSON array of the user's contacts (`[]` for none), each with backend-core's
 * fields. contacts.json maps a user id to the ids it has as contacts (one-directional).
 * @param {import('node:http').IncomingMessage} req
 * @param {import('node:http').ServerResponse} res
 */
function answerContacts(req, res) {
  let userid;
  try {
    userid = JSON.parse(String(req.headers['x-user-claim'])).userid;
  } catch {
    // answered 400 below
  }
  if (typeof userid !== 'string' || userid === '') {
    res.writeHead(400, { 'content-type': 'text/plain' }).end('missing or invalid X-User-Claim (dev-auth)\n');
    return;
  }
  /** @type {Record<string, string[]>} */
  const all = JSON.parse(readFileSync(contactsFile, 'utf8'));
  const ids = Object.hasOwn(all, userid) ? all[userid] : [];
  const contacts = ids.map((id) => ({ id, username: id, bio: '', profile_pic: '', first_name: id, last_name: '', phone_number: '' }));
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(contacts));
}

const server = createServer((req, res) => {
  if (req.method === 'GET' && new URL(req.url ?? '/', 'http://dev-auth.invalid').pathname === '/user/contact') {
    answerContacts(req, res);
    return;
  }
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
