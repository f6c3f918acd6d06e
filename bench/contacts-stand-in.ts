/**
 * WATCH_POLICY=contacts in the bench: a stand-in of backend-core's `GET /user/contact`, started by
 * bench/run.ts when the environment has WATCH_POLICY=contacts and no CONTACTS_URL. The bench's
 * streams then carry a claim (bench/client/worker.ts) whose watcher is new for every stream
 * opened, `bench:<n>:<path>`: each open costs heartbeat one call, the worst case, and the answer
 * lists exactly the users of that path (`/subscribe/<user>…`, `?user=a&user=b`) with
 * backend-core's fields, so every stream is allowed.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The watcher a bench stream claims: new for each stream, naming the path it opens. */
export function benchWatcher(n: number, path: string): string {
  return `bench:${n}:${path}`;
}

/** The users a bench watcher's path watches. */
function usersOf(watcher: string): string[] {
  const path = watcher.split(':').slice(2).join(':');
  const url = new URL(path, 'http://bench.invalid');
  const single = /^\/(?:subscribe|sub)\/([^/]+)/.exec(url.pathname);
  return single ? [decodeURIComponent(single[1])] : url.searchParams.getAll('user');
}

export async function startContactsStandIn(): Promise<{ url: string; close(): void }> {
  const server = createServer((req, res) => {
    let watcher: unknown;
    try {
      watcher = (JSON.parse(String(req.headers['x-user-claim'])) as { userid?: unknown }).userid;
    } catch {
      // 400 below, as backend-core
    }
    if (typeof watcher !== 'string') return void res.writeHead(400).end();
    const list = usersOf(watcher).map((id) => ({
      id,
      username: id,
      bio: '',
      profile_pic: '',
      first_name: '',
      last_name: '',
      phone_number: '',
    }));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(list));
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/user/contact`,
    close: () => server.close(),
  };
}
