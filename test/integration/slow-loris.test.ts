import test from 'ava';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { hold, request, send, trickle, type Piece } from '../support/raw-http.js';
import { serviceForFile } from '../support/file-service.js';

/**
 * Slow-loris: clients that open a connection and then send nothing, or trickle their headers or
 * body a byte at a time, must not hold a connection forever nor keep good clients from being
 * served.
 *
 * What uWS 20.30 does (measured): every HTTP connection has an idle timer of HTTP_IDLE_TIMEOUT_S
 * = 10 s on uSockets' 4-second tick, so it fires 8–12 s after it was armed. It is armed when the
 * connection opens and again after each answered request; bytes trickling in do not re-arm it
 * (a body re-arms it only per 160 KB received, far past our 4 KB limit). So a request, headers and
 * body, must arrive within 8–12 s of the connection opening (or of the previous answer), however
 * steadily it trickles; the server closes the socket without writing anything.
 */

const shared = serviceForFile(test);

const BOUND_MS = 20_000;
const claim = (userid: string) => JSON.stringify({ userid, clientid: 'loris' });

type Kind =
  | 'idle'
  | 'idle after an answer'
  | 'partial head, then silence'
  | 'head trickled'
  | 'body trickled'
  | 'chunked body trickled'
  | 'head sent, body never';

/** A slow client of `kind`, pinging as `userid` when it gets as far as a body. */
function slowRequest(kind: Kind, userid: string): Piece[] {
  const body = JSON.stringify({ status: `loris-${'x'.repeat(100)}` });
  switch (kind) {
    case 'idle':
      return [];
    case 'idle after an answer':
      return [request('GET', `/lastseen/${userid}`)];
    case 'partial head, then silence':
      return ['POST /ping HTTP/1.1\r\nHost: localhost\r\nX-User-'];
    case 'head trickled':
      // ~200 bytes at 4 bytes/s: 50 s to complete.
      return trickle(request('POST', '/ping', { 'X-User-Claim': claim(userid), 'Content-Length': body.length }, body), 250);
    case 'body trickled':
      return [request('POST', '/ping', { 'X-User-Claim': claim(userid), 'Content-Length': body.length }), ...trickle(body, 250)];
    case 'chunked body trickled':
      return [
        request('POST', '/ping', { 'X-User-Claim': claim(userid), 'Transfer-Encoding': 'chunked' }),
        ...[...body].flatMap((c): Piece[] => [{ pause: 250 }, `1\r\n${c}\r\n`]),
        '0\r\n\r\n',
      ];
    case 'head sent, body never':
      return [request('POST', '/ping', { 'X-User-Claim': claim(userid), 'Content-Length': body.length })];
  }
}

const KINDS: Kind[] = [
  'idle',
  'idle after an answer',
  'partial head, then silence',
  'head trickled',
  'body trickled',
  'chunked body trickled',
  'head sent, body never',
];

function summary(ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  return `${sorted[0]}–${sorted[sorted.length - 1]} ms (median ${sorted[Math.floor(sorted.length / 2)]})`;
}

test('200 slow or idle connections are all closed by the server within 20 s, and good requests are served meanwhile', async (t) => {
  const run = randomUUID();
  const slow = await Promise.all(
    Array.from({ length: 200 }, async (_, i) => {
      const kind = KINDS[i % KINDS.length];
      const userid = `loris-${run}-${i}`;
      const conn = await hold({ port: shared.service.port }, slowRequest(kind, userid), 30_000);
      return { kind, userid, ...conn };
    }),
  );

  // While they are all open: 120 good requests from 12 concurrent clients, each answered quickly.
  await sleep(1_000);
  const latencies: number[] = [];
  await Promise.all(
    Array.from({ length: 12 }, async (_, c) => {
      for (let i = 0; i < 5; i++) {
        const userid = `good-${run}-${c}-${i}`;
        let started = Date.now();
        const res = await fetch(`${shared.service.url}/ping`, {
          method: 'POST',
          headers: { 'X-User-Claim': claim(userid) },
          body: JSON.stringify({ status: `g${i}` }),
        });
        latencies.push(Date.now() - started);
        t.is(res.status, 200);
        started = Date.now();
        const seen = await fetch(`${shared.service.url}/lastseen/${userid}`);
        latencies.push(Date.now() - started);
        t.is(seen.status, 200);
        t.is(((await seen.json()) as { status: string }).status, `g${i}`);
      }
    }),
  );
  t.true(Math.max(...latencies) < 1_000, `good requests took up to ${Math.max(...latencies)} ms`);
  t.log(`good requests with 200 slow connections open: ${summary(latencies)}`);

  const closedAfter = await Promise.all(slow.map((s) => s.closed));
  const byKind = new Map<Kind, number[]>();
  slow.forEach((s, i) => {
    const ms = closedAfter[i];
    t.not(ms, null, `${s.kind} #${i} still open after 30 s`);
    if (ms !== null) byKind.set(s.kind, [...(byKind.get(s.kind) ?? []), ms]);
    // Nothing but the answer to the one complete request ('idle after an answer') is ever written.
    const received = s.received().toString('latin1');
    if (s.kind === 'idle after an answer') t.regex(received, /^HTTP\/1\.1 404 /);
    else t.is(received, '', `${s.kind}: the server wrote ${JSON.stringify(received.slice(0, 80))}`);
  });
  for (const [kind, ms] of byKind) {
    t.true(Math.max(...ms) <= BOUND_MS, `${kind}: closed after ${summary(ms)}`);
    t.log(`${kind}: closed after ${summary(ms)}`);
  }

  // None of the trickled pings was stored, and the service still works.
  const users = slow.map((s) => s.userid);
  for (let i = 0; i < users.length; i += 100) {
    const res = await fetch(
      `${shared.service.url}/lastseen?${users
        .slice(i, i + 100)
        .map((u) => `user=${u}`)
        .join('&')}`,
    );
    const body = (await res.json()) as Record<string, unknown>;
    t.deepEqual(
      Object.values(body).filter((v) => v !== null),
      [],
      'a trickled ping was stored',
    );
  }
  t.is(shared.service.child.exitCode, null);
  const last = await fetch(`${shared.service.url}/ping`, {
    method: 'POST',
    headers: { 'X-User-Claim': claim(`after-${run}`) },
    body: '{"status":"after"}',
  });
  t.is(last.status, 200);
});

test('a client that is slow but finishes well within the bound is served', async (t) => {
  const userid = `patient-${randomUUID()}`;
  const body = JSON.stringify({ status: 'slowly' });
  // ~150 bytes in 30 pieces, 100 ms apart: 3 s to send the whole request.
  const bytes = request('POST', '/ping', { 'X-User-Claim': claim(userid), 'Content-Length': body.length }, body);
  const res = await send({ port: shared.service.port, timeoutMs: 10_000 }, trickle(bytes, 100, Math.ceil(bytes.length / 30)));
  t.is(res.kind === 'response' && res.status, 200);
  const seen = (await (await fetch(`${shared.service.url}/lastseen/${userid}`)).json()) as { status: string };
  t.is(seen.status, 'slowly');
});
