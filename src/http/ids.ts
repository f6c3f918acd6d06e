import { isValidId } from '../../machines/ping-request.js';

/**
 * A path parameter or query value as an id: URL-decoded and valid, or null. uWebSockets.js
 * (v20.51) gives undefined for a parameter the route does not have: no id either.
 */
export function decodeId(raw: string | undefined): string | null {
  if (raw === undefined) return null;
  let id: string;
  try {
    id = decodeURIComponent(raw);
  } catch {
    return null;
  }
  return isValidId(id) ? id : null;
}

/** The `user=` values of a query string, decoded and de-duplicated in order; null if any is invalid. */
export function usersOfQuery(query: string): string[] | null {
  const users = new Set<string>();
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq) !== 'user') continue;
    const id = decodeId(part.slice(eq + 1).replace(/\+/g, ' '));
    if (id === null) return null;
    users.add(id);
  }
  return [...users];
}

/** Last-Event-ID as a sequence number; anything else counts as no id (a fresh stream). */
export function parseLastEventId(header: string): number | undefined {
  if (!/^\d{1,16}$/.test(header)) return undefined;
  const n = Number(header);
  return Number.isSafeInteger(n) ? n : undefined;
}
