import test from 'ava';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { startStore, type TestStore } from '../support/stores.js';
import { launchChromium } from '../support/chromium.js';
import { startService, type ServiceProcess } from '../support/service.js';
import { StreamClient } from '../support/sse.js';

/**
 * /debug/machines in a real (Debian) Chromium: the diagrams render offline from our own copy of
 * Mermaid, and the live counts on them match /debug/machines.json and the subscribers connected.
 * Leaves docs/screenshots/debug-machines.png behind (the screenshot of docs/operations.md).
 */
const SCREENSHOT = fileURLToPath(new URL('../../docs/screenshots/debug-machines.png', import.meta.url));

interface MachinesJson {
  streams: number;
  machines: { id: string; tracked: boolean; counts: Record<string, number>; diagram: string; annotated: string }[];
}

let store: TestStore;
let service: ServiceProcess;
let browser: Browser;
const clients: StreamClient[] = [];

test.before(async () => {
  store = await startStore('redis');
  service = await startService({ REDIS: store.redis });
  browser = await launchChromium();
});

test.after.always(async () => {
  for (const c of clients) c.close();
  await browser?.close();
  await service?.stop();
  await store?.close();
});

async function machinesJson(): Promise<MachinesJson> {
  return (await (await fetch(`${service.adminUrl}/debug/machines.json`)).json()) as MachinesJson;
}

async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The counts the page shows, per machine: from its tables and from the labels in its SVGs. */
async function shown(page: Page): Promise<Record<string, { table: Record<string, number>; svgText: string }>> {
  // A string: this project's type-check has no DOM lib.
  return page.evaluate(`(() => {
    const out = {};
    for (const section of document.querySelectorAll('section[data-machine]')) {
      const table = {};
      for (const td of section.querySelectorAll('td[data-state]')) table[td.dataset.state] = Number(td.textContent);
      out[section.dataset.machine] = { table, svgText: section.querySelector('svg')?.textContent ?? '' };
    }
    return out;
  })()`);
}

test('the debug page renders every machine with the live actor counts, and keeps them current', async (t) => {
  const users = Array.from({ length: 4 }, (_, i) => `page-${i}-${randomUUID()}`);
  clients.push(
    ...users.slice(0, 3).map((u) => new StreamClient(`${service.url}/subscribe/${u}`)),
    new StreamClient(`${service.url}/subscribe?user=${users[2]}&user=${users[3]}`),
  );
  await Promise.all(clients.map((c) => c.opened));
  await until(
    async () => ((await machinesJson()).machines.find((m) => m.id === 'subscription')?.counts.live === 4 ? true : undefined),
    '4 live actors',
  );

  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  t.teardown(() => context.close());
  // Offline: anything not on the admin port is refused (and recorded).
  const foreign: string[] = [];
  await context.route('**/*', (route) => {
    if (route.request().url().startsWith(service.adminUrl!)) return route.continue();
    foreign.push(route.request().url());
    return route.abort();
  });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));

  await page.goto(`${service.adminUrl}/debug/machines`);
  await page.waitForSelector('section[data-machine="subscription"] .diagram svg', { timeout: 15_000 });
  await page.waitForSelector('section[data-machine="ping"] .diagram svg', { timeout: 15_000 });
  await page.waitForSelector('section[data-machine="subscription"] td[data-state="live"][data-count="4"]');

  const json = await machinesJson();
  const onPage = await shown(page);
  t.deepEqual(Object.keys(onPage).sort(), json.machines.map((m) => m.id).sort());
  for (const m of json.machines) {
    t.deepEqual(onPage[m.id].table, m.counts, `${m.id}: table`);
    for (const [state, n] of Object.entries(m.counts))
      t.true(onPage[m.id].svgText.includes(`${state} (${n})`), `${m.id}: "${state} (${n})" on the diagram`);
  }
  const subscription = json.machines.find((m) => m.id === 'subscription')!;
  t.is(subscription.counts.live, clients.length);
  t.is(
    Object.values(subscription.counts).reduce((a, b) => a + b, 0),
    clients.length,
  );
  t.is(json.streams, clients.length);
  t.deepEqual(json.machines.find((m) => m.id === 'ping')!.counts, { accepting: 1, degraded: 0, draining: 0, drained: 0 });
  // The occupied state is highlighted on the diagram.
  t.true((await page.locator('section[data-machine="subscription"] svg g.occupied').count()) >= 1);

  mkdirSync(dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });

  // No reload: the page polls and re-renders by itself.
  clients.pop()!.close();
  await page.waitForSelector('section[data-machine="subscription"] td[data-state="live"][data-count="3"]', { timeout: 10_000 });
  await until(
    async () => ((await shown(page)).subscription.svgText.includes('live (3)') ? true : undefined),
    'the diagram to show live (3)',
  );

  t.deepEqual(foreign, []);
  t.deepEqual(errors, []);
});
