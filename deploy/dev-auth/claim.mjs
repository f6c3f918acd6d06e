// DEVELOPMENT ONLY - NOT FOR PRODUCTION.
// Turns a fake credential "<userid>:<clientid>" into the claim that Beep's
// backend-auth would hand traefik. It checks NOTHING: anyone can be anyone.
//
// Where the credential comes from, in this order:
//   1. `Authorization: Bearer <userid>:<clientid>` - if an Authorization header
//      is present it is authoritative (a malformed one is a 401, no fallback),
//      so a typo never silently turns into a different identity.
//   2. the `token` query parameter of the ORIGINAL request URI, which traefik's
//      forwardAuth passes as X-Forwarded-Uri; browsers' EventSource cannot set
//      headers, so the Beep app sends `/subscribe/<user>?token=...`.
// The credential is split at the FIRST colon: userid cannot contain ':', the
// clientid may. No colon means "userid only": clientid is "" (a string, so the
// claim keeps the shape backend-auth produces). An empty userid is rejected.

/**
 * @param {{authorization?: string | null, forwardedUri?: string | null}} req
 * @returns {{userid: string, clientid: string} | null}
 */
export function claimFromRequest({ authorization, forwardedUri } = {}) {
  if (authorization != null && authorization !== '') {
    const m = /^Bearer[ \t]+(.*)$/i.exec(authorization.trim());
    return m ? parseCredential(m[1]) : null;
  }
  if (!forwardedUri) return null;
  let token;
  try {
    // Base is irrelevant: X-Forwarded-Uri is a path + query.
    token = new URL(forwardedUri, 'http://dev-auth.invalid').searchParams.get('token');
  } catch {
    return null;
  }
  return token == null ? null : parseCredential(token);
}

/** @param {string} cred */
function parseCredential(cred) {
  const s = cred.trim();
  const i = s.indexOf(':');
  const userid = i < 0 ? s : s.slice(0, i);
  const clientid = i < 0 ? '' : s.slice(i + 1);
  return userid === '' ? null : { userid, clientid };
}

/**
 * The X-User-Claim header value. JSON with every non-ASCII char escaped, since
 * HTTP header values are bytes (Node would send latin1 or throw); JSON.stringify
 * already escapes control chars, so no header injection either.
 * @param {{userid: string, clientid: string}} claim
 */
export function claimHeader(claim) {
  return JSON.stringify({ userid: claim.userid, clientid: claim.clientid }).replace(
    /[\u007f-\uffff]/g,
    (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'),
  );
}
