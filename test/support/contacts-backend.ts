import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';

/** How the stand-in answers: as backend-core does, with a 500, or never (it holds the request). */
/** One item of backend-core's contact list: the `id` heartbeat reads and the fields it ignores. */
export function contactOf(id: string) {
  return { id, username: `name-${id}`, bio: '', profile_pic: '', first_name: 'First', last_name: 'Last', phone_number: '' };
}

export type BackendMode = 'ok' | 'fail' | 'hang';

/**
 * A stand-in for Beep's backend-core `GET /user/contact`, as a real HTTP server on a free port:
 * it reads the caller's X-User-Claim (400 without a valid one, as backend-core), and answers the
 * JSON array of that user's contacts (`[]` for none), each with backend-core's fields. Contacts
 * are one-directional. A test sets the contacts, makes it fail, hang or go away (connection
 * refused) and back, and counts the calls and the claims they carried.
 */
export class ContactsBackend {
  readonly path = '/user/contact';
  mode: BackendMode = 'ok';
  /** The X-User-Claim of every call, in order. */
  readonly claims: string[] = [];
  private readonly contacts = new Map<string, Set<string>>();
  private readonly held = new Set<ServerResponse>();
  private server: Server | null = null;
  private port = 0;

  static async start(): Promise<ContactsBackend> {
    const backend = new ContactsBackend();
    await backend.listen();
    return backend;
  }

  /** CONTACTS_URL for the service. */
  get url(): string {
    return `http://127.0.0.1:${this.port}${this.path}`;
  }

  /** Calls made for `userid` so far. */
  callsOf(userid: string): number {
    return this.claims.filter((claim) => (JSON.parse(claim) as { userid: string }).userid === userid).length;
  }

  /** `watcher`'s contact list becomes exactly `ids`. */
  setContacts(watcher: string, ids: readonly string[]): void {
    this.contacts.set(watcher, new Set(ids));
  }

  addContact(watcher: string, id: string): void {
    this.contacts.set(watcher, (this.contacts.get(watcher) ?? new Set()).add(id));
  }

  removeContact(watcher: string, id: string): void {
    this.contacts.get(watcher)?.delete(id);
  }

  /** Answers the held (hanging) requests with 500 and answers as `mode` from now on. */
  setMode(mode: BackendMode): void {
    this.mode = mode;
    if (mode !== 'hang') this.releaseHeld();
  }

  /** Stops listening and drops every connection: calls are refused until `resume()`. */
  async stop(): Promise<void> {
    this.releaseHeld();
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }

  /** Listens again on the same port. */
  resume(): Promise<void> {
    return this.listen(this.port);
  }

  private async listen(port = 0): Promise<void> {
    const server = createServer((req, res) => this.answer(req, res));
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  private answer(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://backend-core.invalid');
    if (req.method !== 'GET' || url.pathname !== this.path) return void res.writeHead(404).end();
    const raw = req.headers['x-user-claim'];
    if (typeof raw === 'string') this.claims.push(raw);
    const userid = typeof raw === 'string' ? useridOf(raw) : null;
    if (userid === null) return void res.writeHead(400, { 'content-type': 'text/plain' }).end('missing or invalid X-User-Claim');
    if (this.mode === 'hang') {
      this.held.add(res);
      res.on('close', () => this.held.delete(res));
      return;
    }
    if (this.mode === 'fail') return void res.writeHead(500, { 'content-type': 'text/plain' }).end('backend-core failed');
    const list = [...(this.contacts.get(userid) ?? [])].map(contactOf);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(list));
  }

  private releaseHeld(): void {
    for (const res of this.held) res.writeHead(500).end();
    this.held.clear();
  }
}

function useridOf(claim: string): string | null {
  try {
    const { userid } = JSON.parse(claim) as { userid?: unknown };
    return typeof userid === 'string' && userid !== '' ? userid : null;
  } catch {
    return null;
  }
}
