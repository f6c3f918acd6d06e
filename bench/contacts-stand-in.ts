/**
 * A stand-in of Beep's backend-core `GET /user/contact` for the bench, following its documented
 * contract (docs/api.md, "Who may watch whom"): heartbeat sends the watcher's `X-User-Claim` as it
 * received it; the answer is the JSON array of the watcher's contacts (`[]` for none), each an
 * object with an `id` and backend-core's other fields; 400 without a valid claim. Contacts are
 * one-directional: B in A's list lets A watch B, not B watch A.
 *
 * Two kinds of watcher:
 * - those a scenario registers (`setContacts`): the `contacts` scenario's clients, each a user with
 *   its own 50 contacts, as Beep's users are;
 * - otherwise `bench:<n>:<path>` (bench/client/worker.ts, with WATCH_POLICY=contacts in the
 *   environment and no CONTACTS_URL): a watcher new for every stream opened, whose list is exactly
 *   the users of that path, so every stream is allowed and each open costs heartbeat one call.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The watcher a bench stream claims: new for each stream, naming the path it opens. */
export function benchWatcher(n: number, path: string): string {
  return `bench:${n}:${path}`;
}

/** The users a `bench:` watcher's path watches. */
function usersOf(watcher: string): string[] {
  if (!watcher.startsWith('bench:')) return [];
  const path = watcher.split(':').slice(2).join(':');
  const url = new URL(path, 'http://bench.invalid');
  const single = /^\/(?:subscribe|sub)\/([^/]+)/.exec(url.pathname);
  return single ? [decodeURIComponent(single[1])] : url.searchParams.getAll('user');
}

/** One item of backend-core's contact list: the `id` heartbeat reads and the fields it ignores. */
const contactOf = (id: string) => ({ id, username: id, bio: '', profile_pic: '', first_name: '', last_name: '', phone_number: '' });

export interface ContactsStandIn {
  /** CONTACTS_URL for heartbeat */
  url: string;
  /** `GET /user/contact` calls answered so far (the contact lookups heartbeat made) */
  readonly calls: number;
  /** `watcher`'s contact list becomes exactly `ids` (one-directional: nobody else's list changes). */
  setContacts(watcher: string, ids: readonly string[]): void;
  close(): void;
}

export async function startContactsStandIn(): Promise<ContactsStandIn> {
  const lists = new Map<string, string>();
  let calls = 0;
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/user/contact') return void res.writeHead(404).end();
    let watcher: unknown;
    try {
      watcher = (JSON.parse(String(req.headers['x-user-claim'])) as { userid?: unknown }).userid;
    } catch {
      // 400 below, as backend-core
    }
    if (typeof watcher !== 'string') return void res.writeHead(400).end();
    calls++;
    // A registered list is serialized once: the stand-in's own CPU is not what is measured.
    const body = lists.get(watcher) ?? JSON.stringify(usersOf(watcher).map(contactOf));
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/user/contact`,
    get calls() {
      return calls;
    },
    setContacts: (watcher, ids) => void lists.set(watcher, JSON.stringify(ids.map(contactOf))),
    close: () => server.close(),
  };
}
