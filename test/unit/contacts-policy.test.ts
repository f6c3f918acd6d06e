// WATCH_POLICY=contacts, one worker's policy: its decisions, cache, single flight, re-check and
// failures, against the stand-in of backend-core over real HTTP (no mock of the client).
import test from 'ava';
import { randomUUID } from 'node:crypto';
import { ContactsBackend } from '../support/contacts-backend.js';
import { ContactsClient, ContactsError, type ContactsFailureCause } from '../../src/watch/contacts-client.js';
import { ContactsPolicy, RECHECK_MS, type WatchDecision } from '../../src/watch/contacts-policy.js';
import { ContactCache } from '../../src/watch/contact-cache.js';

let backend: ContactsBackend;
test.before(async () => {
  backend = await ContactsBackend.start();
});
test.after.always(() => backend?.stop());

const TTL_MS = 60_000;
const user = () => `u-${randomUUID()}`;
const claimOf = (userid: string) => JSON.stringify({ userid, clientid: 'phone' });

/** A policy on its own clock (ms), over a real client of the stand-in. */
function policy(timeoutMs = 2_000) {
  const clock = { now: 1_000_000 };
  const decisions: WatchDecision[] = [];
  const lookups: boolean[] = [];
  const failures: ContactsFailureCause[] = [];
  const client = new ContactsClient({ url: backend.url, timeoutMs, onCall: (_s, failure) => failure && failures.push(failure.cause) });
  const p = new ContactsPolicy({
    client,
    ttlMs: TTL_MS,
    now: () => clock.now,
    onDecision: (d) => decisions.push(d),
    onLookup: (hit) => lookups.push(hit),
  });
  const decide = async (watcher: string, users: string[]) => p.decide(watcher, claimOf(watcher), users);
  return { p, clock, decide, decisions, lookups, failures };
}

test.serial('a watcher sees itself without a call, its contacts, and nobody else; contacts are one-directional', async (t) => {
  const { decide } = policy();
  const [a, b, c] = [user(), user(), user()];
  backend.setContacts(a, [b]);
  t.is(await decide(a, [a]), 'allowed');
  t.is(backend.callsOf(a), 0);
  t.is(await decide(a, [b]), 'allowed');
  t.is(await decide(a, [a, b]), 'allowed');
  t.is(await decide(a, [c]), 'not_a_contact');
  t.is(await decide(a, [b, c]), 'not_a_contact', 'a batch with one stranger is refused whole');
  t.is(await decide(b, [a]), 'not_a_contact', 'B in A’s list does not let B watch A');
});

test.serial('the call carries exactly the claim received; a decision from a fresh set is synchronous', async (t) => {
  const { p } = policy();
  const [a, b] = [user(), user()];
  backend.setContacts(a, [b]);
  const claim = `{"userid":"${a}","clientid":"phone","extra":1}`;
  t.is(await p.decide(a, claim, [b]), 'allowed');
  t.is(backend.claims.at(-1), claim);
  t.is(p.decide(a, claim, [b]), 'allowed', 'no promise');
});

test.serial('50 concurrent requests of one watcher share one call', async (t) => {
  const { decide } = policy();
  const a = user();
  const contacts = Array.from({ length: 50 }, user);
  backend.setContacts(a, contacts);
  const decisions = await Promise.all(contacts.map((c) => decide(a, [c])));
  t.true(decisions.every((d) => d === 'allowed'));
  t.is(backend.callsOf(a), 1);
});

test.serial('a set answers for CONTACTS_TTL, then is read again', async (t) => {
  const { decide, clock, lookups } = policy();
  const [a, b] = [user(), user()];
  backend.setContacts(a, [b]);
  await decide(a, [b]);
  clock.now += TTL_MS - 1;
  await decide(a, [b]);
  t.is(backend.callsOf(a), 1);
  backend.removeContact(a, b);
  clock.now += 1;
  t.is(await decide(a, [b]), 'not_a_contact');
  t.is(backend.callsOf(a), 2);
  t.deepEqual(lookups, [false, true, false]);
});

test.serial('a refusal is checked again before 403, at most once a second: a contact added a moment ago is allowed', async (t) => {
  const { decide, clock } = policy();
  const [a, b] = [user(), user()];
  backend.setContacts(a, []);
  t.is(await decide(a, [b]), 'not_a_contact');
  backend.addContact(a, b);
  clock.now += RECHECK_MS - 1;
  t.is(await decide(a, [b]), 'not_a_contact', 'the set is under a second old');
  t.is(backend.callsOf(a), 1);
  clock.now += 1;
  t.is(await decide(a, [b]), 'allowed');
  t.is(backend.callsOf(a), 2);
  // A stranger probing many ids costs one call a second, not one per id.
  const probes = await Promise.all(Array.from({ length: 20 }, () => decide(a, [user()])));
  t.true(probes.every((d) => d === 'not_a_contact'));
  t.is(backend.callsOf(a), 2);
});

test.serial('backend-core failing: fail closed for unknown watchers, cached allowances keep serving, one call a second', async (t) => {
  const { decide, clock, failures } = policy();
  const [a, b, c, d] = [user(), user(), user(), user()];
  backend.setContacts(a, [b]);
  await decide(a, [b]);
  backend.setMode('fail');
  try {
    t.is(await decide(d, [b]), 'unavailable', 'no set: 503');
    t.is(await decide(d, [b]), 'unavailable');
    t.is(backend.callsOf(d), 1, 'a failed call is not retried within a second');
    clock.now += TTL_MS;
    t.is(await decide(a, [b]), 'allowed', 'the last set still allows b');
    t.is(await decide(a, [c]), 'unavailable', 'a refusal is not confirmed: 503, not 403');
    t.deepEqual([...new Set(failures)], ['status']);
  } finally {
    backend.setMode('ok');
  }
  clock.now += RECHECK_MS;
  t.is(await decide(d, [b]), 'not_a_contact');
});

test.serial('a hanging backend costs CONTACTS_TIMEOUT, then 503; a refused connection at once', async (t) => {
  const { decide, failures } = policy(200);
  backend.setMode('hang');
  try {
    const started = Date.now();
    t.is(await decide(user(), [user()]), 'unavailable');
    t.true(Date.now() - started < 5_000);
  } finally {
    backend.setMode('ok');
  }
  const gone = await ContactsBackend.start();
  await gone.stop();
  const refused = new ContactsClient({ url: gone.url, timeoutMs: 2_000 });
  const error = await t.throwsAsync(refused.contactsOf(claimOf('x')), { instanceOf: ContactsError });
  t.is(error?.cause, 'refused');
  t.deepEqual(failures, ['timeout']);
});

test.serial('the client: 400 without a claim is a status failure; ids become a set', async (t) => {
  const client = new ContactsClient({ url: backend.url, timeoutMs: 2_000 });
  const error = await t.throwsAsync(client.contactsOf(''), { instanceOf: ContactsError });
  t.is(error?.cause, 'status');
  const a = user();
  backend.setContacts(a, ['x', 'y']);
  t.deepEqual([...(await client.contactsOf(claimOf(a)))].sort(), ['x', 'y']);
});

test('the cache is bounded in entries and in bytes, least recently used out first', (t) => {
  const entry = (ids: string[]) => ({ contacts: new Set(ids), fetchedAt: 1, attemptedAt: 1, claim: '' });
  const byCount = new ContactCache({ maxEntries: 2 });
  byCount.set('a', entry([]));
  byCount.set('b', entry([]));
  byCount.get('a');
  byCount.set('c', entry([]));
  t.deepEqual([byCount.peek('a') !== undefined, byCount.peek('b') !== undefined, byCount.peek('c') !== undefined], [true, false, true]);
  const byBytes = new ContactCache({ maxBytes: 20_000 });
  for (let i = 0; i < 100; i++) byBytes.set(`w${i}`, entry(Array.from({ length: 20 }, (_, j) => `contact-${j}`)));
  t.true(byBytes.bytes <= 20_000 && byBytes.size > 0 && byBytes.size < 100, `${byBytes.size} entries, ${byBytes.bytes} bytes`);
  t.truthy(byBytes.peek('w99'));
  byBytes.set('huge', entry(Array.from({ length: 1_000 }, (_, j) => `contact-${j}`)));
  t.is(byBytes.peek('huge'), undefined, 'an entry over a quarter of the bound is not kept');
  t.true(byBytes.bytes <= 20_000);
});
