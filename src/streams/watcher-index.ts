/**
 * The local watchers of each user. Most users are watched by one stream, so a lone watcher is
 * stored as itself and a Set is made only for the second: at 15,000 one-user streams a Set per
 * user shows in the memory per stream (BENCHMARKS.md, `hold`).
 */
export class WatcherIndex<W extends object> {
  private readonly byUser = new Map<string, W | Set<W>>();

  /** Adds `watcher` to `userid`; true when it is the user's first watcher. */
  add(userid: string, watcher: W): boolean {
    const current = this.byUser.get(userid);
    if (current === undefined) {
      this.byUser.set(userid, watcher);
      return true;
    }
    if (current instanceof Set) current.add(watcher);
    else if (current !== watcher) this.byUser.set(userid, new Set([current, watcher]));
    return false;
  }

  /** Removes `watcher` from `userid`: 'absent' if it was not there, 'last' if no watcher is left. */
  remove(userid: string, watcher: W): 'absent' | 'removed' | 'last' {
    const current = this.byUser.get(userid);
    if (current === watcher) {
      this.byUser.delete(userid);
      return 'last';
    }
    if (!(current instanceof Set) || !current.delete(watcher)) return 'absent';
    if (current.size === 1) this.byUser.set(userid, current.values().next().value as W);
    return 'removed';
  }

  has(userid: string): boolean {
    return this.byUser.has(userid);
  }

  /** Calls `visit` for every watcher of `userid`; returns how many there were. */
  forEach(userid: string, visit: (watcher: W) => void): number {
    const current = this.byUser.get(userid);
    if (current === undefined) return 0;
    if (!(current instanceof Set)) {
      visit(current);
      return 1;
    }
    for (const watcher of current) visit(watcher);
    return current.size;
  }

  users(): IterableIterator<string> {
    return this.byUser.keys();
  }

  /** Users with at least one watcher. */
  get size(): number {
    return this.byUser.size;
  }
}
