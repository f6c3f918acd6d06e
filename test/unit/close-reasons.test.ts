// Why a stream closed, as the operator sees it (heartbeat_streams_closed_total, the `stream closed`
// debug line): every way into the subscription machine's `closed` state has its own reason, and
// only a client that went away is `client_gone`.
import test from 'ava';
import { subscriptionMachine } from '../../machines/subscription.js';
import { CLOSE_REASON_BY_EVENT, CLOSE_REASONS } from '../../src/streams/subscriptions.js';

type StateNode = typeof subscriptionMachine.root;

/** The event type of every transition, in any state, whose target is `closed`. */
function eventsIntoClosed(node: StateNode, found: string[] = []): string[] {
  for (const [type, transitions] of node.transitions)
    if (transitions.some((t) => t.target?.some((target) => target.id === 'subscription.closed'))) found.push(type);
  for (const child of Object.values(node.states)) eventsIntoClosed(child, found);
  return found;
}

test('every transition into closed has a close reason, and the table names no other event', (t) => {
  const events = eventsIntoClosed(subscriptionMachine.root);
  t.true(events.length >= 3, `found ${events.join(', ')}`);
  t.deepEqual([...events].sort(), Object.keys(CLOSE_REASON_BY_EVENT).sort());
});

test('only the socket abort counts as client_gone; a close heartbeat decided names its decision', (t) => {
  const gone = Object.entries(CLOSE_REASON_BY_EVENT).filter(([, reason]) => reason === 'client_gone');
  t.deepEqual(
    gone.map(([event]) => event),
    ['socket.aborted'],
  );
  t.is(CLOSE_REASON_BY_EVENT['xstate.after.slowClientTimeout.subscription.congested'], 'slow_client');
  t.is(CLOSE_REASON_BY_EVENT['server.shutdown'], 'shutdown');
  t.is(CLOSE_REASON_BY_EVENT['watch.revoked'], 'revoked');
  t.deepEqual([...CLOSE_REASONS].sort(), ['client_gone', 'revoked', 'shutdown', 'slow_client']);
});
