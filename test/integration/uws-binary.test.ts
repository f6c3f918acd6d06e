// On a Node or platform uWebSockets.js has no binary for, heartbeat must not start at all (the
// package has no fallback, and a slower one would be worse than none): it says why and exits 1.
import test from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const NO_BINARY = fileURLToPath(new URL('../support/no-uws-binary.mjs', import.meta.url));

test('without a uWebSockets.js binary that loads, heartbeat refuses to start and names the Node it ran on', async (t) => {
  const child = spawn(process.execPath, ['--import', NO_BINARY, '--import', 'tsx', 'src/process/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, REDIS: 'memory', LISTEN: '127.0.0.1:0', ADMIN_LISTEN: '', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  t.is(code, 1);
  const logs = stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: number; msg: string; node?: string; abi?: string; err?: { message: string } });
  t.false(
    logs.some((l) => l.msg === 'heartbeat started'),
    'it never started',
  );
  const fatal = logs.find((l) => l.level === 60);
  t.truthy(fatal, 'one fatal line says why');
  t.regex(fatal!.msg, /uWebSockets\.js has no native binary that loads on this Node\/platform .*Refusing to start/);
  t.is(fatal!.node, process.version);
  t.is(fatal!.abi, process.versions.modules);
  t.regex(fatal!.err!.message, new RegExp(`uws_${process.platform}_${process.arch}_${process.versions.modules}\\.node`));
});
