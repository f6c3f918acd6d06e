/**
 * The local subscription actors of each watched user. Most users are watched by one stream, so a
 * lone actor is stored as itself and a Set is made only for the second: at 15,000 one-user
 * streams a Set per user shows in the memory per stream (BENCHMARKS.md, `hold`).
 */
export class ActorsByUser<A extends object> {
  private readonly byUser = new Map<string, A | Set<A>>();

  /** Adds `actor` to `userid`; true when it is the user's first. */
  add(userid: string, actor: A): boolean {
    const current = this.byUser.get(userid);
    if (current === undefined) {
      this.byUser.set(userid, actor);
      return true;
    }
    if (current instanceof Set) current.add(actor);
    else if (current !== actor) this.byUser.set(userid, new Set([current, actor]));
    return false;
  }

  /** Removes `actor` from `userid`: 'absent' if it was not there, 'last' if none is left. */
  remove(userid: string, actor: A): 'absent' | 'removed' | 'last' {
    const current = this.byUser.get(userid);
    if (current === actor) {
      this.byUser.delete(userid);
      return 'last';
    }
    if (!(current instanceof Set) || !current.delete(actor)) return 'absent';
    if (current.size === 1) this.byUser.set(userid, current.values().next().value as A);
    return 'removed';
  }

  has(userid: string): boolean {
    return this.byUser.has(userid);
  }

  /** Calls `visit` for every actor of `userid`; returns how many there were. */
  forEach(userid: string, visit: (actor: A) => void): number {
    const current = this.byUser.get(userid);
    if (current === undefined) return 0;
    if (!(current instanceof Set)) {
      visit(current);
      return 1;
    }
    for (const actor of current) visit(actor);
    return current.size;
  }

  users(): IterableIterator<string> {
    return this.byUser.keys();
  }

  /** Users with at least one actor. */
  get size(): number {
    return this.byUser.size;
  }
}
