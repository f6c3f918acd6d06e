import test from 'ava';
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { loadConfig } from '../../src/process/config.js';
import { ProxyTrust, addressText } from '../../src/http/trust.js';
import { uWS, type us_listen_socket } from '../../src/http/uws.js';
import { startStore, type TestStore } from '../support/stores.js';
import { scrape, series } from '../support/metrics.js';
import { request, send, type RawResult } from '../support/raw-http.js';
import { startService, type ServiceProcess } from '../support/service.js';
import { StreamClient } from '../support/sse.js';
import { codeOf } from '../support/error-answer.js';

/**
 * TRUSTED_PROXIES with real peers: the service runs on loopback and the tests connect from
 * 127.0.0.1, from 127.0.0.2 (a raw socket bound with localAddress; Linux routes all of 127/8 to
 * lo, and a listener on 127.0.0.1 accepts connections from 127.0.0.2) and from ::1. Each trust
 * configuration needs its own process, so this file runs several (one per configuration), all on
 * one private redis-server.
 */

let store: TestStore;
const services: Record<string, ServiceProcess> = {};
const CONFIGS = {
  /** IPv4 listener, only 127.0.0.1 trusted. */
  strict: { LISTEN: '127.0.0.1:0', TRUSTED_PROXIES: '127.0.0.1/32' },
  star: { LISTEN: '127.0.0.1:0', TRUSTED_PROXIES: '*' },
  /** No TRUSTED_PROXIES: loopback only. */
  default: { LISTEN: '127.0.0.1:0' },
  /** Dual-stack listeners (`:0` listens on `::`), where IPv4 peers arrive as IPv4-mapped IPv6. */
  dual4: { LISTEN: ':0', TRUSTED_PROXIES: '127.0.0.1/32' },
  dual6: { LISTEN: ':0', TRUSTED_PROXIES: '::1,::ffff:127.0.0.2' },
  dualDefault: { LISTEN: ':0' },
} satisfies Record<string, Record<string, string>>;
type Config = keyof typeof CONFIGS;

let ipv6 = true;

test.before(async () => {
  store = await startStore('redis');
  await Promise.all(
    Object.entries(CONFIGS).map(async ([name, env]) => {
      services[name] = await startService({ REDIS: store.redis, ...env });
    }),
  );
  ipv6 = await new Promise<boolean>((resolve) => {
    const socket = connect({ host: '::1', port: services.dual4.port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
});

test.after.always(async () => {
  await Promise.all(Object.values(services).map((s) => s.stop()));
  await store?.close();
});

type Peer = '127.0.0.1' | '127.0.0.2' | '::1';

function from(config: Config, peer: Peer, bytes: Buffer | Buffer[]): Promise<RawResult> {
  const host = peer === '::1' ? '::1' : '127.0.0.1';
  return send({ port: services[config].port, host, localAddress: peer === '::1' ? undefined : peer, timeoutMs: 5_000 }, bytes);
}

const user = () => `tp-${randomUUID()}`;

function claimedPing(userid: string, body = JSON.stringify({ status: 'claimed' }), headers: Record<string, string> = {}): Buffer {
  return request(
    'POST',
    '/ping',
    { 'X-User-Claim': JSON.stringify({ userid, clientid: 'c' }), ...headers, 'Content-Length': Buffer.byteLength(body) },
    body,
  );
}

function statusOf(res: RawResult): number | string {
  return res.kind === 'response' ? res.status : res.kind;
}

async function lastSeen(config: Config, userid: string): Promise<{ status: string } | null> {
  const res = await fetch(`${services[config].url}/lastseen/${userid}`);
  return res.status === 404 ? null : ((await res.json()) as { status: string });
}

test('a claimed ping from a peer outside TRUSTED_PROXIES is 403 CLAIM_UNTRUSTED and stores or publishes nothing', async (t) => {
  const u = user();
  const subscriber = new StreamClient(`${services.strict.url}/subscribe/${u}`);
  try {
    await subscriber.ready;
    const res = await from('strict', '127.0.0.2', claimedPing(u));
    t.is(statusOf(res), 403);
    t.is(codeOf(res), 'CLAIM_UNTRUSTED');
    // Forwarding headers do not make a peer trusted: only the TCP peer counts.
    const forwarded = await from(
      'strict',
      '127.0.0.2',
      claimedPing(u, undefined, { 'X-Forwarded-For': '127.0.0.1', 'X-Real-IP': '127.0.0.1', Forwarded: 'for=127.0.0.1' }),
    );
    t.is(statusOf(forwarded), 403);
    // Neither does a PROXY protocol v2 header naming 127.0.0.1 (uWS parses it; trust ignores it).
    const proxyV2 = Buffer.concat([
      Buffer.from('0d0a0d0a000d0a515549540a', 'hex'),
      Buffer.from([0x21, 0x11, 0x00, 12, 127, 0, 0, 1, 127, 0, 0, 1, 0x04, 0xd2, 0x00, 0x50]),
    ]);
    t.is(statusOf(await from('strict', '127.0.0.2', [proxyV2, claimedPing(u)])), 403);
    t.is(await lastSeen('strict', u), null);
    // The first event the subscriber sees is the trusted ping below, not a 403'd one.
    t.is(statusOf(await from('strict', '127.0.0.1', claimedPing(u, JSON.stringify({ status: 'trusted' })))), 200);
    await subscriber.count(1);
    t.deepEqual(subscriber.statuses(), ['trusted']);
  } finally {
    subscriber.close();
  }
});

test('an untrusted peer: 403 before the claim or body is parsed, 413 first for a huge body, 400 without a claim, reads allowed', async (t) => {
  const u = user();
  t.is(
    statusOf(await from('strict', '127.0.0.2', request('POST', '/ping', { 'X-User-Claim': 'not json', 'Content-Length': 3 }, '{{{'))),
    403,
  );
  t.is(statusOf(await from('strict', '127.0.0.2', claimedPing(u, '[]'))), 403);
  const big = await from('strict', '127.0.0.2', claimedPing(u, JSON.stringify({ status: 'x'.repeat(5000) })));
  t.is(statusOf(big), 413);
  t.is(statusOf(await from('strict', '127.0.0.2', request('POST', '/ping', { 'Content-Length': 2 }, '{}'))), 400);
  // An empty X-User-Claim is no claim: 400 CLAIM_MISSING, not 403.
  const empty = await from('strict', '127.0.0.2', request('POST', '/ping', { 'X-User-Claim': '', 'Content-Length': 2 }, '{}'));
  t.is(statusOf(empty), 400);
  t.is(codeOf(empty), 'CLAIM_MISSING');
  t.is(await lastSeen('strict', u), null);
  // Reads need no claim and are not restricted.
  t.is(statusOf(await from('strict', '127.0.0.2', request('GET', `/lastseen/${u}`))), 404);
  t.is(statusOf(await from('strict', '127.0.0.1', claimedPing(u))), 200);
  t.is(statusOf(await from('strict', '127.0.0.2', request('GET', `/lastseen/${u}`))), 200);
});

test('the same claimed ping from 127.0.0.1 is 200 and stored', async (t) => {
  const u = user();
  t.is(statusOf(await from('strict', '127.0.0.1', claimedPing(u))), 200);
  t.deepEqual((await lastSeen('strict', u))?.status, 'claimed');
});

test('TRUSTED_PROXIES=* trusts 127.0.0.2', async (t) => {
  const u = user();
  t.is(statusOf(await from('star', '127.0.0.2', claimedPing(u))), 200);
  t.is((await lastSeen('star', u))?.status, 'claimed');
});

test('the default TRUSTED_PROXIES (loopback only) trusts 127.0.0.2', async (t) => {
  const u = user();
  t.is(statusOf(await from('default', '127.0.0.2', claimedPing(u))), 200);
  t.is((await lastSeen('default', u))?.status, 'claimed');
});

test('on a dual-stack listener uWS reports an IPv4 peer as a full-form IPv4-mapped address, which ProxyTrust matches', async (t) => {
  const app = uWS.App();
  const seen: string[] = [];
  app.get('/*', (res) => {
    const text = Buffer.from(res.getRemoteAddressAsText()).toString('latin1');
    seen.push(text);
    // ProxyTrust reads the binary form and writes the text itself, only on a cache miss: it must
    // write exactly what uWS would (the form the BlockList rules are checked against).
    if (addressText(new Uint8Array(res.getRemoteAddress())) !== text)
      seen.push(`mismatch: ${addressText(new Uint8Array(res.getRemoteAddress()))}`);
    res.end('ok');
  });
  const socket = await new Promise<us_listen_socket>((resolve, reject) =>
    app.listen(0, (s) => (s ? resolve(s) : reject(new Error('cannot listen')))),
  );
  try {
    const port = uWS.us_socket_local_port(socket);
    for (const peer of ['127.0.0.1', '127.0.0.2'] as const) {
      const res = await send({ port, localAddress: peer }, request('GET', '/'));
      t.is(statusOf(res), 200);
    }
    if (ipv6) t.is(statusOf(await send({ port, host: '::1' }, request('GET', '/'))), 200);
    t.deepEqual(seen.slice(0, 2), ['0000:0000:0000:0000:0000:ffff:7f00:0001', '0000:0000:0000:0000:0000:ffff:7f00:0002']);
    if (ipv6) t.is(seen[2], '0000:0000:0000:0000:0000:0000:0000:0001');
    t.is(seen.length, ipv6 ? 3 : 2, seen.join(', '));
  } finally {
    uWS.us_listen_socket_close(socket);
  }
  // trust.ts's `::ffff:a.b.c.d` branch never sees this form; node's BlockList matches it anyway.
  const v4 = new ProxyTrust(['127.0.0.1/32']);
  t.true(v4.isTrusted('0000:0000:0000:0000:0000:ffff:7f00:0001'));
  t.false(v4.isTrusted('0000:0000:0000:0000:0000:ffff:7f00:0002'));
  t.false(v4.isTrusted('0000:0000:0000:0000:0000:0000:0000:0001'));
  const defaults = new ProxyTrust(loadConfig({}).trustedProxies);
  t.true(defaults.isTrusted('0000:0000:0000:0000:0000:ffff:7f00:0002'));
  // Private ranges are not trusted by default: any pod or container on the network could claim.
  t.false(defaults.isTrusted('0000:0000:0000:0000:0000:ffff:0a01:0203')); // 10.1.2.3
  t.false(defaults.isTrusted('0000:0000:0000:0000:0000:ffff:c0a8:0101')); // 192.168.1.1
  t.false(defaults.isTrusted('fd00:0000:0000:0000:0000:0000:0000:0001'));
  t.false(defaults.isTrusted('0000:0000:0000:0000:0000:ffff:0808:0808')); // 8.8.8.8
  t.false(defaults.isTrusted('0000:0000:0000:0000:0000:ffff:ac20:0001')); // 172.32.0.1, just outside 172.16/12
  t.true(defaults.isTrusted('0000:0000:0000:0000:0000:0000:0000:0001'));
  const mapped = new ProxyTrust(['::ffff:127.0.0.2']);
  t.true(mapped.isTrusted('127.0.0.2'));
  t.true(mapped.isTrusted('0000:0000:0000:0000:0000:ffff:7f00:0002'));
  t.false(mapped.isTrusted('127.0.0.1'));
});

test('trust on a dual-stack service: an IPv4 rule matches IPv4 peers only, an IPv6 rule IPv6 peers (and its mapped form)', async (t) => {
  const ping = async (config: Config, peer: Peer) => {
    const u = user();
    const status = statusOf(await from(config, peer, claimedPing(u)));
    const stored = (await lastSeen(config, u)) !== null;
    t.is(stored, status === 200, `${config} from ${peer}: ${status} but stored=${stored}`);
    return status;
  };
  t.is(await ping('dual4', '127.0.0.1'), 200);
  t.is(await ping('dual4', '127.0.0.2'), 403);
  t.is(await ping('dual6', '127.0.0.1'), 403);
  t.is(await ping('dual6', '127.0.0.2'), 200);
  t.is(await ping('dualDefault', '127.0.0.2'), 200);
  if (ipv6) {
    t.is(await ping('dual4', '::1'), 403);
    t.is(await ping('dual6', '::1'), 200);
    t.is(await ping('dualDefault', '::1'), 200);
  } else {
    t.log('no IPv6 loopback here: the ::1 peers were not checked');
  }
});

test('a claim on /subscribe or /lastseen from an untrusted peer is 403 CLAIM_UNTRUSTED; the same read without a claim is the public view', async (t) => {
  const u = user();
  t.is(statusOf(await from('strict', '127.0.0.1', claimedPing(u))), 200);
  const claim = { 'X-User-Claim': JSON.stringify({ userid: u, clientid: 'c' }) };
  for (const path of [`/lastseen/${u}`, `/lastseen?user=${u}`, `/subscribe/${u}`, `/subscribe?user=${u}`, `/subscribe/${u}/client/c`]) {
    const refused = await from('strict', '127.0.0.2', request('GET', path, claim));
    t.is(statusOf(refused), 403, path);
    t.is(codeOf(refused), 'CLAIM_UNTRUSTED', path);
  }
  // The refused streams are counted by their code (three of the five paths are streams).
  const refusals = series('heartbeat_streams_refused_total', { code: '403', reason: 'CLAIM_UNTRUSTED', worker: '0' });
  t.true(((await scrape(services.strict.adminUrl!)).get(refusals) ?? 0) >= 3);
  t.is(statusOf(await from('strict', '127.0.0.2', request('GET', `/lastseen/${u}`))), 200);
  t.is(statusOf(await from('strict', '127.0.0.1', request('GET', `/lastseen/${u}`, claim))), 200);
  // Two claims (a proxy that appends instead of replacing) are refused as on /ping.
  const twice = await from(
    'strict',
    '127.0.0.1',
    Buffer.from(
      `GET /lastseen/${u} HTTP/1.1\r\nHost: x\r\nX-User-Claim: ${claim['X-User-Claim']}\r\nX-User-Claim: ${claim['X-User-Claim']}\r\n\r\n`,
    ),
  );
  t.is(statusOf(twice), 400);
});

test('a claim refused from a local peer is logged once per peer, naming TRUSTED_PROXIES as the remedy', async (t) => {
  const service = services.strict;
  const warnings = () => service.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('X-User-Claim refused'));
  const before = warnings().length;
  for (let i = 0; i < 3; i++) t.is(statusOf(await from('strict', '127.0.0.2', claimedPing(user()))), 403);
  t.is(
    statusOf(await from('strict', '127.0.0.2', request('GET', `/lastseen/${user()}`, { 'X-User-Claim': JSON.stringify({ userid: 'x' }) }))),
    403,
  );
  // A read without a claim is not a refusal.
  t.is(statusOf(await from('strict', '127.0.0.2', request('GET', `/lastseen/${user()}`))), 404);
  const deadline = Date.now() + 5_000;
  while (warnings().length === before && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  await new Promise((resolve) => setTimeout(resolve, 300));
  const logged = warnings().slice(before);
  t.is(logged.length, before === 0 ? 1 : 0, 'once per peer, however many refusals');
  const all = warnings().filter((l) => l.peer === '127.0.0.2');
  t.is(all.length, 1);
  t.is(all[0].level, 40);
  t.regex(String(all[0].msg), /TRUSTED_PROXIES=127\.0\.0\.1\/32,127\.0\.0\.2\/32/);
});

test('ProxyTrust reports a refused claim once per loopback or private peer, in the form TRUSTED_PROXIES takes, and no public peer', (t) => {
  const reported: string[] = [];
  const trust = new ProxyTrust(['127.0.0.1/32'], { onLocalPeerRefused: (peer) => reported.push(peer) });
  // What uWS's getRemoteAddress gives: 4 bytes, or 16 (IPv6, or IPv4-mapped on a dual-stack socket).
  const peer = (bytes: number[]) =>
    ({ getRemoteAddress: () => new Uint8Array(bytes).buffer }) as unknown as Parameters<ProxyTrust['claimRefused']>[0];
  const mapped = (a: number, b: number, c: number, d: number) => [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d];
  for (const bytes of [
    [10, 42, 0, 7],
    mapped(10, 42, 0, 7),
    [10, 42, 0, 7],
    mapped(192, 168, 1, 2),
    [172, 20, 0, 3],
    [8, 8, 8, 8],
    mapped(172, 32, 0, 1),
  ]) {
    trust.claimRefused(peer(bytes));
  }
  trust.claimRefused(peer([0xfd, 0, ...Array<number>(13).fill(0), 1]));
  trust.claimRefused(peer([0x20, 0x01, 0x0d, 0xb8, ...Array<number>(11).fill(0), 1]));
  t.deepEqual(reported, ['10.42.0.7', '192.168.1.2', '172.20.0.3', 'fd00:0000:0000:0000:0000:0000:0000:0001']);
});
