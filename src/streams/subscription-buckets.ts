import { createActor, type Actor } from 'xstate';
import { subscriptionBucketMachine } from '../../machines/subscription-bucket.js';
import type { subscriptionMachine, SubscriptionInput } from '../../machines/subscription.js';

type SubscriptionMachine = typeof subscriptionMachine;
type BucketActor = Actor<typeof subscriptionBucketMachine>;

export interface SubscriptionBucketsOptions {
  /** The subscription machine with its I/O provided: every stream's actor runs it. */
  subscription: SubscriptionMachine;
  /**
   * Children per bucket. Spawning and stopping a child cost time proportional to its bucket, a
   * bucket of its own per stream costs a root actor's heap: BENCHMARKS.md has the measurement
   * that picked the default. Default 64.
   */
  size?: number;
}

interface Bucket {
  readonly actor: BucketActor;
  children: number;
  /** Child ids not in use in this bucket. */
  readonly free: string[];
}

/**
 * The bucket parents of the subscription actors: a new stream's actor is spawned in a bucket
 * with room, and a bucket left empty is stopped once another has room. Buckets are filled one
 * at a time, so that streams opened together share a parent.
 */
export class SubscriptionBuckets {
  private readonly machine;
  private readonly size: number;
  private readonly buckets = new Map<BucketActor, Bucket>();
  /** Buckets with room for another child; the first is filled first. */
  private readonly roomy = new Set<Bucket>();
  /**
   * The ids a bucket names its children by, reused: XState memoizes a state node's transitions per
   * event type, and a child's done event is typed by its id (`xstate.done.actor.<id>`), so ids
   * unique per stream would grow that memo by one entry per stream ever opened.
   */
  private readonly ids: readonly string[];

  constructor(options: SubscriptionBucketsOptions) {
    this.size = options.size ?? 64;
    this.ids = Array.from({ length: this.size }, (_, i) => String(i));
    this.machine = subscriptionBucketMachine.provide({
      actors: { subscription: options.subscription },
      actions: {
        releaseRoom: ({ self, event }) => this.release(self as BucketActor, (event as { actorId: string }).actorId),
      },
    });
  }

  /**
   * Spawns the actor of a new stream and returns it; undefined if its stream already ended
   * while it started (the client was gone before the head was written).
   */
  spawn(input: SubscriptionInput): Actor<SubscriptionMachine> | undefined {
    const bucket = this.roomy.values().next().value ?? this.open();
    const id = bucket.free.pop()!;
    bucket.children++;
    if (bucket.children >= this.size) this.roomy.delete(bucket);
    bucket.actor.send({ type: 'stream.open', id, input });
    return bucket.actor.getSnapshot().children[id] as Actor<SubscriptionMachine> | undefined;
  }

  /** Live bucket actors. */
  count(): number {
    return this.buckets.size;
  }

  /** Children held by all buckets: the live subscription actors as their parents see them. */
  children(): number {
    let sum = 0;
    for (const actor of this.buckets.keys()) sum += Object.keys(actor.getSnapshot().children).length;
    return sum;
  }

  /** Stops every bucket (and so every child still running). */
  stopAll(): void {
    for (const actor of this.buckets.keys()) actor.stop();
    this.buckets.clear();
    this.roomy.clear();
  }

  private open(): Bucket {
    const actor = createActor(this.machine);
    const bucket: Bucket = { actor, children: 0, free: [...this.ids].reverse() };
    this.buckets.set(actor, bucket);
    this.roomy.add(bucket);
    actor.start();
    return bucket;
  }

  /** A child was stopped: its bucket has room again, or goes if it is empty and another has room. */
  private release(actor: BucketActor, id: string): void {
    const bucket = this.buckets.get(actor);
    if (!bucket) return;
    bucket.children--;
    bucket.free.push(id);
    if (bucket.children === 0 && (this.roomy.size > 1 || (this.roomy.size === 1 && !this.roomy.has(bucket)))) {
      this.roomy.delete(bucket);
      this.buckets.delete(actor);
      // not from inside its own transition: stop it once this one is done
      queueMicrotask(() => actor.stop());
    } else this.roomy.add(bucket);
  }
}
