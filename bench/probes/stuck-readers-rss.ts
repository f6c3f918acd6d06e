/**
 * Server RSS after a flood of big pings to one user, with and without 16 stuck readers of that
 * user (raw sockets with a 2 KB receive buffer that read nothing: test/support/slow_reader.py).
 * README promises a stuck reader costs at most one pending ping per watched user plus what was
 * written in the turn its socket filled; so the two RSS figures must stay within a few MB.
 *
 *   npm run build && node --import tsx bench/probes/stuck-readers-rss.ts [readers=16] [pings=6000]
 *
 * Each case on a fresh server and Redis: RSS once startup garbage is gone, then the flood (~1 KB
 * frames, 16 senders), then RSS settled 5 s later. The readers then read, to show they recover.
 */
import { SlowReader } from '../../test/support/slow-reader.js';
import { rssKiB, settledRss, startupSettledRss, withServer } from '../server-proc.js';

const readers = Number(process.argv[2] ?? 16);
const pings = Number(process.argv[3] ?? 6000);
const FILLER = '\u{1F600}'.repeat(240);

/** `pings` big pings from 16 senders, then one `LAST` ping (the newest, for the recovery check). */
async function flood(port: number, user: string): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let i = next++; i < pings; i = next++) {
        const res = await fetch(`http://127.0.0.1:${port}/ping`, {
          method: 'POST',
          headers: { 'Content-Type': 'text/plain', 'X-User-Claim': JSON.stringify({ userid: user, clientid: 'c' }) },
          body: JSON.stringify({ status: `${String(i).padStart(6, '0')}-${FILLER}` }),
        });
        if (res.status !== 200) throw new Error(`ping answered ${res.status}`);
        await res.arrayBuffer();
      }
    }),
  );
  const last = await fetch(`http://127.0.0.1:${port}/ping`, {
    method: 'POST',
    headers: { 'X-User-Claim': JSON.stringify({ userid: user, clientid: 'c' }) },
    body: '{"status":"LAST"}',
  });
  if (last.status !== 200) throw new Error(`ping answered ${last.status}`);
}

async function run(stuck: number): Promise<{ before: number; after: number; peak: number; recovered: string }> {
  return withServer('ours', { admin: true }, async (server) => {
    const before = await startupSettledRss(server);
    const user = `rss-${stuck}`;
    const slow = await Promise.all(Array.from({ length: stuck }, () => SlowReader.connect(server.port, `/subscribe/${user}`)));
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, rssKiB(server.pid))), 200);
    await flood(server.port, user);
    clearInterval(sampler);
    const after = (await settledRss(server.pid, 5_000)).last;
    const reads = await Promise.all(slow.map((r) => r.read()));
    await Promise.all(slow.map((r) => r.close()));
    const recovered =
      stuck === 0 ? '-' : `${reads.filter((r) => r.events.at(-1)?.includes('"LAST"')).length}/${stuck} ended on the newest ping`;
    return { before, after, peak, recovered };
  });
}

const without = await run(0);
const withStuck = await run(readers);
const mib = (kib: number) => (kib / 1024).toFixed(1);
for (const [name, r] of [
  ['without stuck readers', without],
  [`with ${readers} stuck readers`, withStuck],
] as const) {
  console.log(
    `${name}: RSS before ${mib(r.before)} MiB, peak ${mib(r.peak)} MiB, after ${mib(r.after)} MiB (+${mib(r.after - r.before)}); ${r.recovered}`,
  );
}
console.log(
  `difference after the flood: ${mib(withStuck.after - without.after)} MiB (growth: ${mib(withStuck.after - withStuck.before - (without.after - without.before))} MiB)`,
);
