import type { ExecutionContext } from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StreamClient } from './sse.js';

/** Streams of a test: single-user streams with their user, and contact lists of all `users`. */
export interface Audience {
  readonly users: readonly string[];
  readonly single: readonly { user: string; client: StreamClient }[];
  readonly lists: readonly StreamClient[];
}

/**
 * The status of the i-th ping of a sequence: `#i`, never one of the Beep app's codes (`3` is
 * Invisible, which INVISIBLE_STATUSES keeps from other users' streams).
 */
export function sequenceStatus(i: number): string {
  return `#${i}`;
}

/**
 * Sends pings 1 … perUser to every user, each user's pings one after another (as one device
 * sends them), all users at once. `send` answers the HTTP status; anything but 200 fails the test.
 */
export async function pingEveryUser(
  users: readonly string[],
  perUser: number,
  send: (user: string, i: number) => Promise<number>,
): Promise<void> {
  await Promise.all(
    users.map(async (user) => {
      for (let i = 1; i <= perUser; i++) {
        const status = await send(user, i);
        if (status !== 200) throw new Error(`ping answered ${status}`);
      }
    }),
  );
}

/**
 * Every stream got the sequence statuses 0 … perUser of each of its users, in order, and nothing more
 * arrives afterwards (exactly once).
 */
export async function assertEveryPingOnceInOrder(t: ExecutionContext, audience: Audience, perUser: number): Promise<void> {
  const { users, single, lists } = audience;
  const expected = Array.from({ length: perUser + 1 }, (_, i) => sequenceStatus(i));
  for (const { user, client } of single) {
    await client.count(perUser + 1);
    t.deepEqual(client.statuses(), expected, user);
  }
  for (const list of lists) {
    await list.count((perUser + 1) * users.length);
    for (const user of users)
      t.deepEqual(
        list
          .json()
          .filter((e) => e.userid === user)
          .map((e) => e.status),
        expected,
        user,
      );
  }
  await sleep(300);
  t.true(
    single.every(({ client }) => client.events.length === perUser + 1),
    'no duplicate on a single-user stream',
  );
  t.true(
    lists.every((c) => c.events.length === (perUser + 1) * users.length),
    'no duplicate on a contact list',
  );
}
