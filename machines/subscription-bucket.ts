import { setup, spawnChild, stopChild } from 'xstate';
import { subscriptionMachine, type SubscriptionInput } from './subscription.js';

export type SubscriptionBucketEvent =
  /** Spawns the actor of a new stream as a child of this bucket parent, under `id`. */
  | { type: 'stream.open'; id: string; input: SubscriptionInput }
  /** A child's stream closed (its machine reached `closed`): XState's done event, `actorId` names it. */
  | { type: `xstate.done.actor.${string}`; actorId: string };

/**
 * A bucket parent: the parent of a bounded number of subscription actors. Children share the parent's actor
 * system, which costs less heap per actor than a root actor of its own; a parent holds only a
 * bounded number of them because spawning and stopping copy the parent's table of children, and
 * the system's delayed events are searched on every stop (see BENCHMARKS.md). Each child is
 * still one stream's own actor: it owns its sink and gets every presence, keepalive and socket
 * event itself, not through its parent. The parent only spawns children and stops the finished.
 */
export const subscriptionBucketMachine = setup({
  types: {
    events: {} as SubscriptionBucketEvent,
  },
  actors: {
    subscription: subscriptionMachine,
  },
  actions: {
    /** Tells BucketParents that a child is gone and this parent has room again (injected). */
    releaseRoom: () => {},
  },
}).createMachine({
  id: 'subscriptionBucket',
  initial: 'holding',
  states: {
    holding: {
      on: {
        'stream.open': {
          actions: spawnChild('subscription', {
            id: ({ event }) => event.id,
            // spawnChild's input is not narrowed to the transition's event type
            input: ({ event }) => (event.type === 'stream.open' ? event.input : undefined) as SubscriptionInput,
          }),
        },
        'xstate.done.actor.*': {
          actions: [stopChild(({ event }) => event.actorId), 'releaseRoom'],
        },
      },
    },
  },
});
