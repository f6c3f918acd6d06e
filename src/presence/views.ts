import type { PresenceBackend, StoredPing } from './types.js';

/**
 * The last pings of `users` as `viewer` may see them: its own in its own view (invisible pings
 * included), everyone else's last visible one. `viewer` undefined: the public view of all.
 */
export async function lastPingsAsSeenBy(
  backend: PresenceBackend,
  users: readonly string[],
  viewer: string | undefined,
  clientid?: string,
): Promise<(StoredPing | null)[]> {
  const own = viewer === undefined ? -1 : users.indexOf(viewer);
  if (own < 0) return backend.lastMany(users, clientid);
  const others = users.filter((_, i) => i !== own);
  const [[mine], theirs] = await Promise.all([
    backend.lastMany([users[own]], clientid, true),
    others.length > 0 ? backend.lastMany(others, clientid) : Promise.resolve([]),
  ]);
  theirs.splice(own, 0, mine);
  return theirs;
}
