import { createActor, type Actor } from 'xstate';
import { subscriptionBucketMachine } from '../../machines/subscription-bucket.js';
import type { subscriptionMachine, SubscriptionInput } from '../../machines/subscription.js';

type SubscriptionMachine = typeof subscriptionMachine;
type BucketParentActor = Actor<typeof subscriptionBucketMachine>;

export interface BucketParentsOptions {
  /** The subscription machine with its I/O provided: every stream's actor runs it. */
  subscription: SubscriptionMachine;
  /**
   * Children per bucket parent. Spawning and stopping a child cost time proportional to its
   * parent's children, a parent of its own per stream costs a root actor's heap: BENCHMARKS.md has
   * the measurement that picked the default. Default 64.
   */
  size?: number;
}

interface BucketParent {
  readonly actor: BucketParentActor;
  children: number;
  /** Child ids not in use under this parent. */
  readonly free: string[];
}

/**
 * The bucket parents of the subscription actors (machines/subscription-bucket.ts): a new stream's
 * actor is spawned under a parent with room, and a parent left empty is stopped once another has
 * room. Parents are filled one at a time, so that streams opened together share a parent.
 */
export class BucketParents {
  private readonly machine;
  private readonly size: number;
  private readonly parents = new Map<BucketParentActor, BucketParent>();
  /** Parents with room for another child; the first is filled first. */
  private readonly roomy = new Set<BucketParent>();
  /**
   * The ids a parent names its children by, reused: XState memoizes a state node's transitions per
   * event type, and a child's done event is typed by its id (`xstate.done.actor.<id>`), so ids
   * unique per stream would grow that memo by one entry per stream ever opened.
   */
  private readonly ids: readonly string[];

  constructor(options: BucketParentsOptions) {
    this.size = options.size ?? 64;
    this.ids = Array.from({ length: this.size }, (_, i) => String(i));
    this.machine = subscriptionBucketMachine.provide({
      actors: { subscription: options.subscription },
      actions: {
        releaseRoom: ({ self, event }) => this.release(self as BucketParentActor, (event as { actorId: string }).actorId),
      },
    });
  }

  /**
   * Spawns the actor of a new stream and returns it; undefined if its stream already ended
   * while it started (the client was gone before the head was written).
   */
  spawn(input: SubscriptionInput): Actor<SubscriptionMachine> | undefined {
    const parent = this.roomy.values().next().value ?? this.open();
    const id = parent.free.pop()!;
    parent.children++;
    if (parent.children >= this.size) this.roomy.delete(parent);
    parent.actor.send({ type: 'stream.open', id, input });
    return parent.actor.getSnapshot().children[id] as Actor<SubscriptionMachine> | undefined;
  }

  /** Live bucket parents. */
  count(): number {
    return this.parents.size;
  }

  /** Children held by every parent: the live subscription actors as their parents see them. */
  children(): number {
    let sum = 0;
    for (const actor of this.parents.keys()) sum += Object.keys(actor.getSnapshot().children).length;
    return sum;
  }

  /** Stops every parent (and so every child still running). */
  stopAll(): void {
    for (const actor of this.parents.keys()) actor.stop();
    this.parents.clear();
    this.roomy.clear();
  }

  private open(): BucketParent {
    const actor = createActor(this.machine);
    const parent: BucketParent = { actor, children: 0, free: [...this.ids].reverse() };
    this.parents.set(actor, parent);
    this.roomy.add(parent);
    actor.start();
    return parent;
  }

  /** A child was stopped: its parent has room again, or goes if it is empty and another has room. */
  private release(actor: BucketParentActor, id: string): void {
    const parent = this.parents.get(actor);
    if (!parent) return;
    parent.children--;
    parent.free.push(id);
    if (parent.children === 0 && (this.roomy.size > 1 || (this.roomy.size === 1 && !this.roomy.has(parent)))) {
      this.roomy.delete(parent);
      this.parents.delete(actor);
      // not from inside its own transition: stop it once this one is done
      queueMicrotask(() => actor.stop());
    } else this.roomy.add(parent);
  }
}
