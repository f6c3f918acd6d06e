/**
 * contacts: what Beep sends (issue 29). N clients (default 5,000), each with one multi-user stream
 * of its CONTACTS contacts drawn from 2·N users (25 watchers per user): heartbeat
 * `/subscribe?user=…`, nchan one multiplexed subscriber (`/multi/a,b,…`,
 * `nchan_channel_id_split_delimiter`). Every user pinged once first, so each replay carries 50
 * cached pings. Then every user pings every 20 s (500/s at N = 5,000) for SECONDS; each must reach each of its
 * watching streams exactly once, in order per user.
 *
 * Reported: RSS per client stream (AFTER_MS after the pings) and per watched user, server CPU per
 * delivery, delivery p50/p99, pings answered non-2xx, the connect time (replays included), and the
 * same watch entries as one stream per contact, Beep's client today: 50 one-user streams cost
 * `singleRssPerStreamKiB` each, measured on up to SINGLES streams (the 20,000 open files of a
 * process bound it) and multiplied by CONTACTS: `singleToMultiRatio` is what switching saves.
 *
 *   node --import tsx bench/run.ts contacts --n 5000 --target ours,nchan --workers 2   (--n 200: a smoke run)
 */
import { ContactStreams, tagOf } from '../client/contact-streams.js';
import { Pinger } from '../client/pinger.js';
import { cpuMs, settledRss, sleep, startupSettledRss } from '../server-proc.js';
import { num, round, text, type Scenario } from './types.js';

const CONTACTS = 50;
/** Each user pings every 20 s, as the Beep app does: 2·N users / 20 s (500/s at N = 5,000). */
const PING_EVERY_S = 20;
const SECONDS = 20;
/** When the RSS per stream is read: the figure is 60 s after the pings. */
const AFTER_MS = Number(process.env.BENCH_CONTACTS_AFTER_MS ?? 60_000);
const SINGLES = 15_000;

/** Client c's contacts: CONTACTS users in a row from a spread start, so each user has N·CONTACTS/users watchers. */
function contactLists(n: number, users: readonly string[]): string[][] {
  return Array.from({ length: n }, (_, c) => Array.from({ length: CONTACTS }, (_, k) => users[(c * 37 + k) % users.length]));
}

export const contacts: Scenario = {
  name: 'contacts',
  budgetMs: (o) => 240_000 + AFTER_MS + o.n * 30,
  // The shape is 5,000 clients; their one-user counterpart is 15,000 sockets in this process.
  maxN: 5_000,
  onlyByName: true,
  headline: [
    'ready',
    'failed',
    'connectMs',
    'rssPerStreamKiB',
    'rssPerWatchedUserKiB',
    'cpuUsPerDelivery',
    'p50Ms',
    'p99Ms',
    'pingsNot2xx',
    'delivered',
    'expected',
    'exactOnceInOrderPairs',
    'singleRssPerStreamKiB',
    'singleToMultiRatio',
  ],
  async run(ctx) {
    const { n } = ctx.opts;
    if (ctx.target !== 'ours' && ctx.target !== 'nchan')
      throw new Error(`contacts needs multi-user streams: ours or nchan, not ${ctx.target}`);
    const pid = ctx.server.pid;
    const host = '127.0.0.1';
    const { port, api } = ctx.server;
    const users = Array.from({ length: 2 * n }, (_, i) => `c${i}`);
    const pinger = new Pinger(host, port, 64, api);
    ctx.defer(() => pinger.close());
    ctx.log(`seeding: one ping for each of ${users.length} users`);
    for (let i = 0; i < users.length; i += 500) await Promise.all(users.slice(i, i + 500).map((u) => pinger.ping(u, 'seed')));
    const rss0 = await startupSettledRss(ctx.server);

    const streams = new ContactStreams(host, port, api);
    ctx.defer(() => streams.close());
    const lists = contactLists(n, users);
    const watchers = new Map<string, number>();
    for (const list of lists) for (const u of list) watchers.set(u, (watchers.get(u) ?? 0) + 1);
    const t0 = Date.now();
    await streams.open(lists);
    const connectMs = Date.now() - t0;
    ctx.log(`${streams.ready} streams of ${CONTACTS} ready, ${streams.failed} failed, in ${connectMs} ms`);
    await sleep(2_000);

    // Ping i goes to user i % users with that user's seq ⌊i / users⌋ + 1; paced in 10 ms steps.
    const rate = users.length / PING_EVERY_S;
    const pings = Math.round(rate * SECONDS);
    const sentTo = new Map<string, number>();
    let expected = 0;
    let not2xx = 0;
    const answers: Promise<void>[] = [];
    await ctx.profileWindow(true);
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
          if (status < 200 || status > 299) not2xx++;
        }),
      );
    }
    await Promise.all(answers);
    for (let waited = 0; streams.delivered < expected && waited < 15_000; waited += 100) await sleep(100);
    const cpu1 = cpuMs(pid);
    await ctx.profileWindow(false);
    const lat = streams.latency.summary();
    const { complete, pairs } = streams.complete((u) => sentTo.get(u) ?? 0);
    ctx.log(`delivered ${streams.delivered} of ${expected}; holding ${AFTER_MS / 1000} s for the RSS`);
    await sleep(AFTER_MS);
    const rss1 = (await settledRss(pid, 3_000, 3, 1_000)).last;
    const rssPerStreamKiB = (rss1 - rss0) / Math.max(1, streams.ready);
    streams.close();

    // The same users as one stream per contact (Beep's client today), as many as a process may hold.
    await sleep(5_000);
    const base = (await settledRss(pid, 3_000, 3, 1_000)).last;
    const singles = new ContactStreams(host, port, api);
    ctx.defer(() => singles.close());
    const count = Math.min(SINGLES, n * CONTACTS);
    await singles.open(Array.from({ length: count }, (_, j) => [users[j % users.length]]));
    await sleep(AFTER_MS);
    const singleEnd = (await settledRss(pid, 3_000, 3, 1_000)).last;
    const singleRssPerStreamKiB = (singleEnd - base) / Math.max(1, singles.ready);
    singles.close();

    return {
      n,
      users: users.length,
      contacts: CONTACTS,
      ready: streams.ready,
      failed: streams.failed,
      connectMs,
      pings,
      pingsNot2xx: not2xx,
      delivered: streams.delivered,
      expected,
      dups: streams.dups,
      gaps: streams.gaps,
      dropped: streams.dropped,
      exactOnceInOrderPairs: complete,
      pairs,
      p50Ms: lat.p50,
      p99Ms: lat.p99,
      maxMs: lat.max,
      serverCpuMs: round(cpu1 - cpu0, 0),
      cpuUsPerDelivery: round(((cpu1 - cpu0) * 1000) / Math.max(1, streams.delivered), 2),
      rssPerStreamKiB: round(rssPerStreamKiB, 2),
      rssPerWatchedUserKiB: round(rssPerStreamKiB / CONTACTS, 3),
      singleStreams: singles.ready,
      singleRssPerStreamKiB: round(singleRssPerStreamKiB, 2),
      singleToMultiRatio: round((CONTACTS * singleRssPerStreamKiB) / rssPerStreamKiB, 1),
    };
  },
  checks(m, o) {
    const once =
      num(m, 'ready') === o.n &&
      num(m, 'delivered') === num(m, 'expected') &&
      num(m, 'dups') === 0 &&
      num(m, 'gaps') === 0 &&
      num(m, 'exactOnceInOrderPairs') === num(m, 'pairs');
    return [
      {
        name: 'every delivery exactly once, in order per user',
        pass: once,
        detail: `${text(m, 'delivered')}/${text(m, 'expected')}, ${text(m, 'exactOnceInOrderPairs')}/${text(m, 'pairs')} (stream, user) complete, dups ${text(m, 'dups')}, gaps ${text(m, 'gaps')}`,
      },
      { name: 'every ping answered 2xx', pass: num(m, 'pingsNot2xx') === 0, detail: `${text(m, 'pingsNot2xx')} not 2xx` },
      {
        name: 'one 50-contact stream costs < 1/4 of 50 one-user streams',
        pass: num(m, 'singleToMultiRatio') > 4,
        detail: `${text(m, 'singleToMultiRatio')}×`,
      },
    ];
  },
};
