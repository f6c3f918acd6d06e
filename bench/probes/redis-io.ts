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
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cpuMs, killAll, snapshotOurs, startRedis, startServer, stopProc, type TargetName } from '../server-proc.js';

const target = (process.argv[2] ?? 'ours') as TargetName;
const seconds = Number(process.argv[3] ?? 5);
if (target === 'ours') snapshotOurs();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-redis-io-'));
const redis = await startRedis(dir);
const server = await startServer(target, { redisPort: redis.port, dir });
try {
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
  const script = path.join(import.meta.dirname, '../wrk/ping.lua');
  const url = `http://127.0.0.1:${server.port}/ping`;
  const out = execFileSync('wrk', ['-t2', '-c64', `-d${seconds}s`, '-s', script, url, '--', 'io', '100']).toString();
  const cpu = cpuMs(server.pid) - cpu0;
  const after = stats();
  const wrk = JSON.parse(out.split('\n').find((l) => l.startsWith('WRK_JSON '))!.slice('WRK_JSON '.length)) as { requests: number; durationUs: number };
  const per = (key: string) => ((after[key] - before[key]) / wrk.requests).toFixed(3);
  console.log(
    `${target}: ${Math.round(wrk.requests / (wrk.durationUs / 1e6))} req/s, ${((cpu * 1000) / wrk.requests).toFixed(1)} µs server CPU per ping; ` +
      `Redis per ping: ${per('total_reads_processed')} reads, ${per('total_writes_processed')} writes, ${per('total_commands_processed')} commands`,
  );
} finally {
  await stopProc(server);
  await stopProc(redis);
  killAll();
  fs.rmSync(dir, { recursive: true, force: true });
}
