import type { Store, StoredPing } from './types.js';

/**
 * The last pings of `users` as `watcher` may see them: its own in its own view (invisible pings
 * included), everyone else's last visible one. `watcher` undefined: the public view of all.
 */
export async function lastPingsAsSeenBy(
  store: Store,
  users: readonly string[],
  watcher: string | undefined,
  clientid?: string,
): Promise<(StoredPing | null)[]> {
  const own = watcher === undefined ? -1 : users.indexOf(watcher);
  if (own < 0) return store.lastMany(users, clientid);
  const others = users.filter((_, i) => i !== own);
  const [[mine], theirs] = await Promise.all([
    store.lastMany([users[own]], clientid, true),
    others.length > 0 ? store.lastMany(others, clientid) : Promise.resolve([]),
  ]);
  theirs.splice(own, 0, mine);
  return theirs;
}
