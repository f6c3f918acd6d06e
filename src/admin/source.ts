import { pingMachine } from '../../machines/ping.js';
import { subscriptionMachine } from '../../machines/subscription.js';
import { leafStates, stateKeys } from '../diagrams/mermaid.js';
import type { HeartbeatService } from '../service.js';

/** What the admin port reads from the service: read-only, sampled when asked (never per event). */
export type AdminSource = Pick<HeartbeatService, 'subscriptions' | 'pipeline' | 'hub' | 'stats' | 'backend' | 'isReady' | 'isClosing'>;

const SUBSCRIPTION_STATES = leafStates(subscriptionMachine);
const PING_STATES = leafStates(pingMachine);

function zeros(states: readonly string[]): Record<string, number> {
  return Object.fromEntries(states.map((s) => [s, 0]));
}

/**
 * Live actors per machine id and state, every state of the machine listed (0 when empty):
 * the subscription actors (one per open stream) and the one ping actor.
 */
export function actorCounts(source: AdminSource): Record<string, Record<string, number>> {
  const subscription = zeros(SUBSCRIPTION_STATES);
  for (const [state, n] of Object.entries(source.subscriptions.countByState())) subscription[state] = (subscription[state] ?? 0) + n;
  const ping = zeros(PING_STATES);
  for (const state of stateKeys(source.pipeline.getSnapshot().value)) ping[state] = (ping[state] ?? 0) + 1;
  return { [subscriptionMachine.id]: subscription, [pingMachine.id]: ping };
}

/** Why the instance is not ready, or null when it is (`/readyz`). */
export function notReadyReason(source: AdminSource): 'shutting down' | 'store unavailable' | null {
  if (source.isClosing()) return 'shutting down';
  if (!source.isReady()) return 'store unavailable';
  return null;
}
