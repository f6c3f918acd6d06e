import test from 'ava';
import { randomUUID } from 'node:crypto';
import { startService, type ServiceProcess } from '../support/service.js';
import { ping, StreamClient } from '../support/sse.js';

let service: ServiceProcess;

test.before(async () => {
  service = await startService({ REDIS: 'memory', MAX_CONNECTIONS: '3', MAX_USERS_PER_STREAM: '4' });
});

test.after.always(async () => {
  await service?.stop();
});

test.serial('beyond MAX_CONNECTIONS new streams get 503 with Retry-After; open ones are untouched', async (t) => {
  const user = `full-${randomUUID()}`;
  const open = Array.from({ length: 3 }, () => new StreamClient(`${service.url}/subscribe/${user}`));
  await Promise.all(open.map((s) => s.opened));
  const refused = await fetch(`${service.url}/subscribe/${user}`);
  t.is(refused.status, 503);
  t.truthy(refused.headers.get('retry-after'));
  t.regex(await refused.text(), /too many/);
  await ping(service.url, user, 'still here');
  await Promise.all(open.map((s) => s.count(1)));
  t.deepEqual(open.map((s) => s.statuses()), [['still here'], ['still here'], ['still here']]);
  open[0].close();
  // The freed slot is usable again once the server saw the close.
  await t.notThrowsAsync(async () => {
    for (let i = 0; i < 50; i++) {
      const res = await fetch(`${service.url}/subscribe/${user}`);
      if (res.status === 200) return void (await res.body!.cancel());
      await res.text();
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('no slot freed');
  });
  for (const s of open) s.close();
});

test.serial('MAX_USERS_PER_STREAM bounds /subscribe and /lastseen; duplicates do not count', async (t) => {
  const users = ['a', 'b', 'c', 'd', 'e'];
  const tooMany = users.map((u) => `user=${u}`).join('&');
  t.is((await fetch(`${service.url}/subscribe?${tooMany}`)).status, 400);
  t.is((await fetch(`${service.url}/lastseen?${tooMany}`)).status, 400);
  const withDuplicates = 'user=a&user=b&user=a&user=c&user=d&user=d';
  t.is((await fetch(`${service.url}/lastseen?${withDuplicates}`)).status, 200);
  t.is((await fetch(`${service.url}/subscribe`)).status, 400);
  t.is((await fetch(`${service.url}/lastseen`)).status, 400);
});
