import test from 'ava';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/chromium.js';
import { ClaimProxy } from '../support/claim-proxy.js';
import { startService, type ServiceProcess } from '../support/service.js';

/**
 * CORS_ORIGINS in a real (Debian) Chromium. A web app served from one origin
 * (http://127.0.0.1:<page port>) uses heartbeat on another (http://localhost:<proxy port>, a
 * traefik stand-in that turns the app's credentials into X-User-Claim, as forward-auth does):
 * an EventSource and a fetch POST /ping with Authorization (so the browser preflights). From an
 * origin in CORS_ORIGINS both work; from any other origin the browser refuses both, and the ping
 * is never sent.
 */

let browser: Browser;
let service: ServiceProcess;
let proxy: ClaimProxy;
const pages: Server[] = [];
let allowedOrigin = '';
let otherOrigin = '';
let api = '';

/** A tiny static site: the same empty page at every path, so the test's script runs in its origin. */
async function site(): Promise<string> {
  const server = createServer((_, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>web app</title>'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  pages.push(server);
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

test.before(async () => {
  [allowedOrigin, otherOrigin] = await Promise.all([site(), site()]);
  service = await startService({ REDIS: 'memory', CORS_ORIGINS: allowedOrigin });
  proxy = await ClaimProxy.start(service.port);
  api = `http://localhost:${proxy.port}`;
  // `localhost` is another origin than 127.0.0.1 but the same proxy.
  browser = await launchChromium(['--host-resolver-rules=MAP localhost 127.0.0.1']);
});

test.after.always(async () => {
  await browser?.close();
  await proxy?.close();
  await service?.stop();
  for (const server of pages) server.close();
});

async function pageAt(origin: string): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${origin}/app`);
  return page;
}

/**
 * Runs in the page: opens EventSources (the Beep app's `?token=`), records their events and
 * errors on `window.heartbeat`. A string: this project's type-check has no DOM lib.
 */
function openStreams(streams: Record<string, string>): string {
  return `(() => {
    window.heartbeat = {};
    for (const [name, url] of Object.entries(${JSON.stringify(streams)})) {
      const record = (window.heartbeat[name] = { events: [], errors: 0, opened: false, state: 0 });
      const source = new EventSource(url, { withCredentials: true });
      source.onopen = () => { record.opened = true; record.state = source.readyState; };
      source.onmessage = (e) => record.events.push(JSON.parse(e.data).status);
      source.onerror = () => { record.errors++; record.state = source.readyState; };
    }
  })()`;
}

/** Runs in the page: POST /ping as the web app does, with a bearer token and a JSON body (a preflighted request). */
function postPing(token: string, status: string): string {
  return `fetch(${JSON.stringify(`${api}/ping`)}, {
    method: 'POST',
    credentials: 'include',
    headers: { Authorization: 'Bearer ${token}', 'Content-Type': 'application/json' },
    body: JSON.stringify({ status: ${JSON.stringify(status)} }),
  }).then((res) => ({ ok: res.ok, status: res.status }), (error) => ({ error: String(error) }))`;
}

interface Recorded {
  events: string[];
  errors: number;
  opened: boolean;
  state: number;
}

async function recorded(page: Page, name: string): Promise<Recorded> {
  return page.evaluate(`window.heartbeat[${JSON.stringify(name)}]`);
}

async function until(page: Page, name: string, check: (r: Recorded) => boolean, what: string): Promise<Recorded> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = await recorded(page, name);
    if (check(r)) return r;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(r)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function lastSeen(userid: string): Promise<string | null> {
  const res = await fetch(`${service.url}/lastseen/${userid}`);
  return res.status === 404 ? null : ((await res.json()) as { status: string }).status;
}

test('from an allowed origin the web app streams and pings across origins, and its own devices see its invisible pings', async (t) => {
  const [alice, bob] = [`web-${randomUUID()}`, `web-${randomUUID()}`];
  const page = await pageAt(allowedOrigin);
  t.teardown(() => page.context().close());
  // Bob watches alice; alice's web app watches herself (its claim names her: her own view).
  await page.evaluate(
    openStreams({ bob: `${api}/subscribe/${alice}?token=${bob}:web`, own: `${api}/subscribe/${alice}?token=${alice}:web` }),
  );
  await until(page, 'bob', (r) => r.opened, 'bob stream to open');
  await until(page, 'own', (r) => r.opened, 'own stream to open');

  t.deepEqual(await page.evaluate(postPing(`${alice}:web`, '0')), { ok: true, status: 200 });
  t.is(await lastSeen(alice), '0');
  t.deepEqual(await page.evaluate(postPing(`${alice}:web`, '3')), { ok: true, status: 200 });
  t.deepEqual(await page.evaluate(postPing(`${alice}:web`, '1')), { ok: true, status: 200 });
  t.deepEqual((await until(page, 'own', (r) => r.events.length >= 3, 'the own stream')).events, ['0', '3', '1']);
  t.deepEqual((await until(page, 'bob', (r) => r.events.length >= 2, 'bob stream')).events, ['0', '1']);
  // The body of a cross-origin read is readable too.
  const seen = await page.evaluate(
    `fetch(${JSON.stringify(`${api}/lastseen/${alice}?token=${bob}:web`)}, { credentials: 'include' }).then((r) => r.json())`,
  );
  t.is((seen as { status: string }).status, '1');
});

test('from an origin not in CORS_ORIGINS the browser refuses the stream and the ping, and nothing is stored', async (t) => {
  const alice = `web-${randomUUID()}`;
  const page = await pageAt(otherOrigin);
  t.teardown(() => page.context().close());
  await page.evaluate(openStreams({ watcher: `${api}/subscribe/${alice}?token=bob:web` }));
  const stream = await until(page, 'watcher', (r) => r.errors > 0, 'the stream to fail');
  t.false(stream.opened);
  t.is(stream.state, 2, 'EventSource gave up (CLOSED): a CORS failure is not retried');
  const result = await page.evaluate<{ error?: string }>(postPing(`${alice}:web`, '0'));
  t.regex(result.error ?? '', /TypeError/);
  // The preflight was refused, so the POST itself never left the browser.
  t.is(await lastSeen(alice), null);
  t.deepEqual((await recorded(page, 'watcher')).events, []);
});
