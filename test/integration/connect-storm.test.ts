import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { startService } from '../support/service.js';

/**
 * A connect storm (every client of an instance reconnecting at once after a deploy) against a
 * process that cannot accept for a moment: its accept queue must hold every connection, and each
 * must then get its answer. uSockets' own queue is 512: the rest would be dropped and left to TCP
 * retransmission, answered seconds late or never (docs/scaling.md, "Connect storms").
 */

const STORM = 3_000;

/** The accept queue of each listening socket on `port`, as `ss` shows it: connections waiting, and its size. */
function acceptQueues(port: number): { waiting: number; size: number }[] {
  const out = execFileSync('ss', ['-H', '-l', '-t', '-n', `sport = :${port}`], { encoding: 'utf8' });
  return out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [, recvQ, sendQ] = line.trim().split(/\s+/);
      return { waiting: Number(recvQ), size: Number(sendQ) };
    });
}

const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8').trim());

/** Resolves once every one of `count` things happened, or rejects after `ms` saying how many did. */
function countdown(count: number, ms: number, what: string): { tick(): void; done: Promise<void> } {
  let left = count;
  let tick = () => {};
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${count - left} of ${count} ${what} after ${ms} ms`)), ms);
    tick = () => {
      if (--left === 0) {
        clearTimeout(timer);
        resolve();
      }
    };
  });
  return { tick: () => tick(), done };
}

test('a paused process holds a storm of 3,000 connections in its accept queues, then answers every one', async (t) => {
  t.timeout(90_000);
  t.true(somaxconn > STORM / 2, `net.core.somaxconn is ${somaxconn}: the kernel caps every accept queue at it`);
  const service = await startService({ REDIS: 'memory', WORKERS: '2', ADMIN_LISTEN: '' });
  const sockets: Socket[] = [];
  try {
    const expected = Math.min(65_535, somaxconn);
    const started = service.logs.find((line) => line.msg === 'heartbeat started');
    t.is(started?.listenBacklog, expected, 'the start line names the queue size in force');
    // One listening socket per worker thread, each with the larger queue.
    t.deepEqual(
      acceptQueues(service.port).map((q) => q.size),
      [expected, expected],
    );

    // Stopped, the process accepts nothing: the kernel completes each handshake and queues it.
    service.child.kill('SIGSTOP');
    const connected = countdown(STORM, 30_000, 'connections completed their handshake while the process was paused');
    const answered = countdown(STORM, 60_000, 'streams answered');
    const statuses = new Map<string, number>();
    for (let i = 0; i < STORM; i++) {
      const socket = connect({ host: '127.0.0.1', port: service.port });
      sockets.push(socket);
      let head = '';
      socket.setEncoding('latin1');
      socket.once('connect', () => {
        connected.tick();
        socket.write(`GET /subscribe/storm-${i} HTTP/1.1\r\nHost: heartbeat\r\nAccept: text/event-stream\r\n\r\n`);
      });
      socket.on('data', function onHead(chunk: string) {
        head += chunk;
        if (!head.includes('\r\n\r\n')) return;
        socket.off('data', onHead);
        const statusLine = head.slice(0, head.indexOf('\r\n'));
        statuses.set(statusLine, (statuses.get(statusLine) ?? 0) + 1);
        answered.tick();
      });
      socket.on('error', () => {});
    }
    await connected.done;
    const waiting = acceptQueues(service.port).reduce((sum, q) => sum + q.waiting, 0);
    t.is(waiting, STORM, 'every connection waits in an accept queue');

    service.child.kill('SIGCONT');
    await answered.done;
    t.deepEqual(Object.fromEntries(statuses), { 'HTTP/1.1 200 OK': STORM });
  } finally {
    service.child.kill('SIGCONT');
    for (const socket of sockets) socket.destroy();
    // Draining is not what this test is about (shutdown.test.ts is): a process that has not left
    // 15 s after SIGTERM is killed, so a failure above is reported instead of waiting forever.
    const killer = setTimeout(() => service.child.kill('SIGKILL'), 15_000);
    await service.stop();
    clearTimeout(killer);
  }
});
