import { createActor, type Actor } from 'xstate';
import { pingMachine, type EraseRequest, type PingRequest } from '../../machines/ping.js';
import { receivedNow } from '../store/received-clock.js';
import type { Store } from '../store/types.js';

export type PingActor = Actor<typeof pingMachine>;

/**
 * The one long-lived ping actor of this process, wired to the store. Its state is the
 * ping actor's mode (accepting, degraded, draining, drained); each request is one event, and the
 * store's result answers it directly (machines/ping.ts, answerWhenStored).
 * An erasure (`DELETE /ping`) is an event of the same actor, so it shares the modes, the input
 * rules and the draining of pings in flight.
 * A ping whose status is in `invisibleStatuses` (INVISIBLE_STATUSES) is stored as invisible.
 */
export function startPingActor(store: Store, invisibleStatuses: ReadonlySet<string> = new Set()): PingActor {
  const actor = createActor(
    pingMachine.provide({
      actions: {
        storePing: (_, { ping, answer }) => {
          // Stamped now, as the ping is received (the request's last byte has just arrived), so
          // that a late retry of it by the Redis client is still ordered by this moment.
          store.save(ping.userid, ping.clientid, ping.status, invisibleStatuses.has(ping.status), receivedNow()).then(
            (saved) => answer('retryAfterSeconds' in saved ? saved : 'overtaken' in saved ? 'overtaken' : 'stored'),
            () => answer('failed'),
          );
        },
        erasePresence: (_, { userid, clientid, answer }) => {
          store.erase(userid, clientid).then(
            (limited) => answer(limited ?? 'stored'),
            () => answer('failed'),
          );
        },
      },
    }),
  );
  actor.start();
  if (!store.isAvailable()) actor.send({ type: 'store.down' });
  return actor;
}

export function submitPing(actor: PingActor, request: PingRequest): void {
  actor.send({ type: 'ping.received', request });
}

export function submitErase(actor: PingActor, request: EraseRequest): void {
  actor.send({ type: 'erase.received', request });
}
