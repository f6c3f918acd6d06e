/**
 * contacts: what Beep sends (issues 29 and 31). N clients (default 5,000), each a user of its own
 * with one multi-user stream of its CONTACTS contacts drawn from 2·N users (25 watchers per user):
 * heartbeat `/subscribe?user=…` with the client's claim (`X-User-Claim: {"userid","clientid"}`),
 * run with WATCH_POLICY=contacts against a stand-in of backend-core that knows each client's 50
 * contacts (bench/contacts-stand-in.ts; one-directional, so every stream is allowed and each costs
 * heartbeat its contact lookup) and OFFLINE_AFTER=60; nchan one multiplexed subscriber
 * (`/multi/a,b,…`, `nchan_channel_id_split_delimiter`); the floor (bench/floor/server.ts) the same
 * multi-user route with no policy. Every user pinged once first, so each replay carries 50 cached
 * pings. Then every user pings every 20 s (500/s at N = 5,000) for SECONDS; each must reach each of
 * its watching streams exactly once, in order per user.
 *
 * Reported: RSS per client stream (AFTER_MS after the pings) and per watch entry, server CPU per
 * delivery, delivery p50/p99, pings not accepted (ours: not 200), the first connect (wall time,
 * server CPU per client and the contact lookups it made), and the same watch entries as one stream
 * per contact, Beep's client today. 250,000 one-user streams fit neither the bench's client process
 * nor one server process (20,000 open files each), so that phase is scaled down: the first
 * SINGLES / CONTACTS clients (300) open their 50 contacts as 50 streams each, with their claims
 * (15,000 sockets) on a fresh server (same Redis), get the same round of pings (each checked exactly once, in order), and the RSS
 * per one-user stream measured AFTER_MS after it × 50 is a client's cost;
 * `multiOverFiftySingles` is one 50-contact stream over 50 one-user streams (issue 29: < 1/4), and
 * `singlesShape` says how the phase was run.
 *
 *   node --import tsx bench/run.ts contacts --n 5000 --target ours,nchan,floor --workers 2 --runs 3   (--n 200: a smoke run)
 */
import { ContactStreams, tagOf, type Watch } from '../client/contact-streams.js';
import { pingAccepted, type Api } from '../client/api.js';
import { Pinger } from '../client/pinger.js';
import { cpuMs, settledRss, sleep, startupSettledRss } from '../server-proc.js';
import { num, round, text, type Scenario } from './types.js';

const CONTACTS = 50;
/** Each user pings every 20 s, as the Beep app does: 2·N users / 20 s (500/s at N = 5,000). */
const PING_EVERY_S = 20;
const SECONDS = 20;
/** When the RSS per stream is read: the figure is 60 s after the pings. */
const AFTER_MS = Number(process.env.BENCH_CONTACTS_AFTER_MS ?? 60_000);
/** One-user streams of the second phase: under the 20,000 open files of the bench process and of the server. */
const SINGLES = 15_000;
const CLIENT_ID = 'web';

/**
 * Client c (user `users[c]`) and its CONTACTS contacts: users in a row from a spread start, itself
 * skipped (backend-core does not list a user as its own contact), so each user has about
 * N·CONTACTS/users watchers.
 */
function contactLists(n: number, users: readonly string[]): { userid: string; contacts: string[] }[] {
  return Array.from({ length: n }, (_, c) => {
    const contacts: string[] = [];
    for (let k = 0; contacts.length < CONTACTS; k++) {
      const u = users[(c * 37 + k) % users.length];
      if (u !== users[c]) contacts.push(u);
    }
    return { userid: users[c], contacts };
  });
}

/**
 * One round of pings: every user pings every PING_EVERY_S for SECONDS (ping i goes to user
 * i % users with that user's seq ⌊i / users⌋ + 1, paced in 10 ms steps), then waits until
 * `streams` got every delivery (at most 15 s more). The server's CPU is read around it.
 */
async function pingRound(
  pid: number,
  pinger: Pinger,
  api: Api,
  users: readonly string[],
  watchers: ReadonlyMap<string, number>,
  streams: ContactStreams,
) {
  const rate = users.length / PING_EVERY_S;
  const pings = Math.round(rate * SECONDS);
  const sentTo = new Map<string, number>();
  let expected = 0;
  let notAccepted = 0;
  const answers: Promise<void>[] = [];
  const delivered0 = streams.delivered;
  const cpu0 = cpuMs(pid);
  const start = Date.now();
  for (let i = 0; i < pings; i++) {
    const due = start + (i * 1000) / rate;
    if (due > Date.now() + 1) await sleep(due - Date.now());
    const user = users[i % users.length];
    const seq = Math.floor(i / users.length) + 1;
    sentTo.set(user, seq);
    expected += watchers.get(user) ?? 0;
    answers.push(
      pinger.ping(user, tagOf(seq, user)).then((status) => {
        if (!pingAccepted(api, status)) notAccepted++;
      }),
    );
  }
  await Promise.all(answers);
  for (let waited = 0; streams.delivered - delivered0 < expected && waited < 15_000; waited += 100) await sleep(100);
  return { pings, sentTo, expected, notAccepted, cpuMs: cpuMs(pid) - cpu0 };
}

export const contacts: Scenario = {
  name: 'contacts',
  budgetMs: (o) => 300_000 + 2 * AFTER_MS + o.n * 40,
  // The shape is 5,000 clients; their one-user counterpart is 15,000 sockets in this process.
  maxN: 5_000,
  onlyByName: true,
  watchContacts: true,
  env: { OFFLINE_AFTER: '60' },
  headline: [
    'ready',
    'failed',
    'connectMs',
    'connectCpuUsPerClient',
    'contactLookups',
    'rssPerStreamKiB',
    'rssPerWatchEntryKiB',
    'cpuUsPerDelivery',
    'p50Ms',
    'p99Ms',
    'pingsNotAccepted',
    'delivered',
    'expected',
    'exactOnceInOrderPairs',
    'offlineEvents',
    'singleStreams',
    'singleDelivered',
    'singleExpected',
    'singleRssPerStreamKiB',
    'fiftySinglesKiB',
    'multiOverFiftySingles',
    'singleConnectCpuUsPerClient',
    'singleContactLookups',
    'singlesShape',
  ],
  async run(ctx) {
    const { n } = ctx.opts;
    if (ctx.target !== 'ours' && ctx.target !== 'nchan' && ctx.target !== 'floor')
      throw new Error(`contacts needs multi-user streams: ours, nchan or floor, not ${ctx.target}`);
    const pid = ctx.server.pid;
    const host = '127.0.0.1';
    const { port, api } = ctx.server;
    const readyOnHead = ctx.target !== 'ours';
    const lookups = () => ctx.contacts?.calls ?? 0;
    const users = Array.from({ length: 2 * n }, (_, i) => `c${i}`);
    const clients = contactLists(n, users);
    for (const { userid, contacts: ids } of clients) ctx.contacts?.setContacts(userid, ids);
    const claimOf = (userid: string) => ({ userid, clientid: CLIENT_ID });
    const pinger = new Pinger(host, port, 64, api);
    ctx.defer(() => pinger.close());
    ctx.log(`seeding: one ping for each of ${users.length} users`);
    for (let i = 0; i < users.length; i += 500) await Promise.all(users.slice(i, i + 500).map((u) => pinger.ping(u, 'seed')));
    const rss0 = await startupSettledRss(ctx.server);

    // First connect: every client opens its stream (ours: its claim's contacts looked up, nothing cached yet).
    const streams = new ContactStreams(host, port, api, readyOnHead);
    ctx.defer(() => streams.close());
    const watchers = new Map<string, number>();
    for (const { contacts: ids } of clients) for (const u of ids) watchers.set(u, (watchers.get(u) ?? 0) + 1);
    const lookups0 = lookups();
    const connectCpu0 = cpuMs(pid);
    const t0 = Date.now();
    await streams.open(clients.map(({ userid, contacts: ids }): Watch => ({ users: ids, claim: claimOf(userid) })));
    const connectMs = Date.now() - t0;
    const connectCpuMs = cpuMs(pid) - connectCpu0;
    const contactLookups = lookups() - lookups0;
    ctx.log(
      `${streams.ready} streams of ${CONTACTS} ready, ${streams.failed} failed ${JSON.stringify(streams.refused)}, ` +
        `in ${connectMs} ms, ${contactLookups} contact lookups`,
    );
    await sleep(2_000);

    await ctx.profileWindow(true);
    const round1 = await pingRound(pid, pinger, api, users, watchers, streams);
    await ctx.profileWindow(false);
    const lat = streams.latency.summary();
    const { complete, pairs } = streams.complete((u) => round1.sentTo.get(u) ?? 0);
    ctx.log(`delivered ${streams.delivered} of ${round1.expected}; holding ${AFTER_MS / 1000} s for the RSS`);
    await sleep(AFTER_MS);
    const rss1 = (await settledRss(pid, 3_000, 3, 1_000)).last;
    const rssPerStreamKiB = (rss1 - rss0) / Math.max(1, streams.ready);
    const offlineEvents = streams.offline;
    streams.close();

    // The same watch entries as one stream per contact (Beep's client today), scaled down to the
    // clients whose 50 streams each fit one process's open files; each with its own claim. On a
    // fresh server (same Redis, same stand-in): nchan's one-user subscribers on channels that had
    // multiplexed subscribers in the same workers missed about half the pings (seen at --n 100 and
    // 200, and none on a fresh nginx), and a fresh process gives both phases a clean start. The
    // users are seeded again (a replay is not a measured ping) and get the same round of pings, so
    // both RSS figures are read AFTER_MS after the same load.
    const fresh = await ctx.restartServer();
    const pinger2 = new Pinger(host, fresh.port, 64, api);
    ctx.defer(() => pinger2.close());
    for (let i = 0; i < users.length; i += 500) await Promise.all(users.slice(i, i + 500).map((u) => pinger2.ping(u, 'seed')));
    const base = await startupSettledRss(fresh);
    const singles = new ContactStreams(host, fresh.port, api, readyOnHead);
    singles.ignoreBefore = Date.now();
    ctx.defer(() => singles.close());
    const singleClients = clients.slice(0, Math.max(1, Math.floor(SINGLES / CONTACTS)));
    const singlesShape = `${singleClients.length}x${CONTACTS} = ${singleClients.length * CONTACTS} of ${n * CONTACTS} entries (20,000 files/process)`;
    ctx.log(`one stream per contact, scaled down: ${singleClients.length} clients' ${CONTACTS} streams each, ${singlesShape}`);
    const singleWatchers = new Map<string, number>();
    for (const { contacts: ids } of singleClients) for (const u of ids) singleWatchers.set(u, (singleWatchers.get(u) ?? 0) + 1);
    const singleLookups0 = lookups();
    const singleCpu0 = cpuMs(fresh.pid);
    await singles.open(
      singleClients.flatMap(({ userid, contacts: ids }) => ids.map((u): Watch => ({ users: [u], claim: claimOf(userid) }))),
    );
    const singleConnectCpuMs = cpuMs(fresh.pid) - singleCpu0;
    const singleContactLookups = lookups() - singleLookups0;
    await sleep(2_000);
    const round2 = await pingRound(fresh.pid, pinger2, api, users, singleWatchers, singles);
    const singlesComplete = singles.complete((u) => round2.sentTo.get(u) ?? 0);
    ctx.log(`one-user streams: delivered ${singles.delivered} of ${round2.expected}; holding ${AFTER_MS / 1000} s for the RSS`);
    await sleep(AFTER_MS);
    const singleEnd = (await settledRss(fresh.pid, 3_000, 3, 1_000)).last;
    const singleRssPerStreamKiB = (singleEnd - base) / Math.max(1, singles.ready);
    singles.close();

    return {
      n,
      users: users.length,
      contacts: CONTACTS,
      ready: streams.ready,
      failed: streams.failed,
      refused: streams.refused,
      connectMs,
      connectCpuUsPerClient: round((connectCpuMs * 1000) / Math.max(1, streams.ready), 0),
      contactLookups,
      pings: round1.pings + round2.pings,
      pingsNotAccepted: round1.notAccepted + round2.notAccepted,
      delivered: streams.delivered,
      expected: round1.expected,
      dups: streams.dups,
      gaps: streams.gaps,
      dropped: streams.dropped,
      exactOnceInOrderPairs: complete,
      pairs,
      offlineEvents,
      p50Ms: lat.p50,
      p99Ms: lat.p99,
      maxMs: lat.max,
      serverCpuMs: round(round1.cpuMs, 0),
      cpuUsPerDelivery: round((round1.cpuMs * 1000) / Math.max(1, streams.delivered), 2),
      rssPerStreamKiB: round(rssPerStreamKiB, 2),
      rssPerWatchEntryKiB: round(rssPerStreamKiB / CONTACTS, 3),
      singleStreams: singles.ready,
      singleStreamsExpected: singleClients.length * CONTACTS,
      singleDelivered: singles.delivered,
      singleExpected: round2.expected,
      singleDups: singles.dups,
      singleGaps: singles.gaps,
      singleExactOnceInOrderPairs: singlesComplete.complete,
      singlePairs: singlesComplete.pairs,
      singleP99Ms: singles.latency.summary().p99,
      singleRssPerStreamKiB: round(singleRssPerStreamKiB, 2),
      fiftySinglesKiB: round(CONTACTS * singleRssPerStreamKiB, 1),
      multiOverFiftySingles: round(rssPerStreamKiB / (CONTACTS * singleRssPerStreamKiB), 3),
      singleConnectCpuUsPerClient: round((singleConnectCpuMs * 1000) / singleClients.length, 0),
      singleContactLookups,
      singlesShape,
    };
  },
  checks(m, o) {
    const once =
      num(m, 'ready') === o.n &&
      num(m, 'delivered') === num(m, 'expected') &&
      num(m, 'dups') === 0 &&
      num(m, 'gaps') === 0 &&
      num(m, 'exactOnceInOrderPairs') === num(m, 'pairs') &&
      num(m, 'singleDelivered') === num(m, 'singleExpected') &&
      num(m, 'singleDups') === 0 &&
      num(m, 'singleGaps') === 0 &&
      num(m, 'singleExactOnceInOrderPairs') === num(m, 'singlePairs');
    return [
      {
        name: 'every delivery exactly once, in order per user',
        pass: once,
        detail:
          `${text(m, 'delivered')}/${text(m, 'expected')}, ${text(m, 'exactOnceInOrderPairs')}/${text(m, 'pairs')} (stream, user) complete, ` +
          `dups ${text(m, 'dups')}, gaps ${text(m, 'gaps')}; one-user streams ${text(m, 'singleDelivered')}/${text(m, 'singleExpected')}, ` +
          `${text(m, 'singleExactOnceInOrderPairs')}/${text(m, 'singlePairs')} complete`,
      },
      {
        name: 'every ping answered 200 (nchan: 201/202)',
        pass: num(m, 'pingsNotAccepted') === 0,
        detail: `${text(m, 'pingsNotAccepted')} of ${text(m, 'pings')} not`,
      },
      {
        name: 'every stream opened, one-user ones too',
        pass: num(m, 'ready') === o.n && num(m, 'singleStreams') === num(m, 'singleStreamsExpected'),
        detail: `${text(m, 'ready')}/${o.n} multi, ${text(m, 'singleStreams')}/${text(m, 'singleStreamsExpected')} one-user, refused ${text(m, 'refused')}`,
      },
      {
        name: 'one 50-contact stream costs < 1/4 of 50 one-user streams',
        pass: num(m, 'multiOverFiftySingles') < 0.25,
        detail: `${text(m, 'rssPerStreamKiB')} KiB against ${text(m, 'fiftySinglesKiB')} KiB: ${text(m, 'multiOverFiftySingles')}`,
      },
    ];
  },
};
