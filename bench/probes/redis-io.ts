/**
 * Redis round trips per ping: one server under test (ours, baseline or floor) on a fresh Redis,
 * wrk at 64 connections for a few seconds, and Redis's own counters (INFO stats) around it.
 *
 *   npm run build && node --import tsx bench/probes/redis-io.ts [ours|baseline|floor] [seconds]
 *
 * Prints req/s, server CPU per ping, and Redis reads, writes and commands per ping: how well
 * the server's pings share Redis round trips (auto-pipelining), and how many commands each costs.
 */
import { execFileSync } from 'node:child_process';
import { runWrk } from '../scenarios/ping.js';
import { cpuMs, withServer, type TargetName } from '../server-proc.js';

const target = (process.argv[2] ?? 'ours') as TargetName;
const seconds = Number(process.argv[3] ?? 5);

await withServer(target, {}, async (server, redis) => {
  const stats = (): Record<string, number> =>
    Object.fromEntries(
      execFileSync('redis-cli', ['-p', String(redis.port), 'info', 'stats'])
        .toString()
        .split('\r\n')
        .filter((line) => line.includes(':'))
        .map((line) => [line.split(':')[0], Number(line.split(':')[1])]),
    );
  const before = stats();
  const cpu0 = cpuMs(server.pid);
  const wrk = await runWrk(server.port, 2, 64, 'io', 100, seconds);
  const cpu = cpuMs(server.pid) - cpu0;
  const after = stats();
  const per = (key: string) => ((after[key] - before[key]) / wrk.requests).toFixed(3);
  console.log(
    `${target}: ${Math.round(wrk.requests / (wrk.durationUs / 1e6))} req/s, ${((cpu * 1000) / wrk.requests).toFixed(1)} µs server CPU per ping; ` +
      `Redis per ping: ${per('total_reads_processed')} reads, ${per('total_writes_processed')} writes, ${per('total_commands_processed')} commands`,
  );
});
