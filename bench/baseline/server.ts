/**
 * Baseline presence server for the benchmarks: the same API as heartbeat,
 * written plainly with node:http + ioredis (no uWebSockets.js, no XState).
 *
 *   POST /ping                         X-User-Claim: {"userid","clientid"}, body {"status"}
 *   GET  /subscribe/:userid[/client/:clientid]   text/event-stream
 *
 * Env: LISTEN=host:port, REDIS=host:port, ADMIN_LISTEN=host:port (optional:
 * GET /metrics with the live subscription count, the baseline's "live actors").
 */
import http from 'node:http';
import { Redis } from 'ioredis';

const [listenHost, listenPort] = hostPort(process.env.LISTEN ?? '127.0.0.1:8080');
const [redisHost, redisPort] = hostPort(process.env.REDIS ?? '127.0.0.1:6379');
const KEEPALIVE_MS = 25_000;
const MAX_STATUS = 256;

function hostPort(s: string): [string, number] {
  const i = s.lastIndexOf(':');
  return [i > 0 ? s.slice(0, i) : '0.0.0.0', Number(s.slice(i + 1))];
}

const redis = new Redis({ host: redisHost, port: redisPort });
const sub = new Redis({ host: redisHost, port: redisPort });
const subscribers = new Map<string, Set<http.ServerResponse>>();
const key = (u: string) => `hb:user:${u}`;
const channel = (u: string) => `hb:ping:${u}`;
let lastId = 0;

function frame(id: string, time: string, status: string): string {
  return `id: ${id}\ndata: ${JSON.stringify({ time: Number(time), status })}\n\n`;
}

sub.on('message', (ch: string, msg: string) => {
  const set = subscribers.get(ch.slice(8));
  if (set) for (const res of set) res.write(msg);
});

async function handlePing(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  let claim: { userid?: unknown; clientid?: unknown };
  try {
    claim = JSON.parse(String(req.headers['x-user-claim'] ?? '')) as typeof claim;
  } catch {
    return reply(res, 400);
  }
  if (typeof claim?.userid !== 'string' || claim.userid === '') return reply(res, 400);
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  let status: unknown;
  try {
    status = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { status?: unknown }).status;
  } catch {
    return reply(res, 400);
  }
  if (typeof status !== 'string' || status.length > MAX_STATUS) return reply(res, 400);
  const user = claim.userid;
  const time = String(Math.floor(Date.now() / 1000));
  const id = String(Math.max(Date.now(), ++lastId));
  lastId = Number(id);
  const clientid = typeof claim.clientid === 'string' ? claim.clientid : '';
  try {
    await redis
      .multi()
      .hset(key(user), 'time', time, 'status', status, 'clientid', clientid, 'id', id)
      .publish(channel(user), frame(id, time, status))
      .exec();
  } catch {
    return reply(res, 503);
  }
  reply(res, 200);
}

function reply(res: http.ServerResponse, code: number): void {
  res.writeHead(code, { 'Content-Length': '0' });
  res.end();
}

async function handleSubscribe(user: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream',
    'Cache-Control': 'no-cache',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  res.write(': heartbeat\n\nretry: 2000\n\n');
  let set = subscribers.get(user);
  if (!set) {
    set = new Set();
    subscribers.set(user, set);
    void sub.subscribe(channel(user));
  }
  set.add(res);
  const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
  req.socket.on('close', () => {
    clearInterval(keepalive);
    const s = subscribers.get(user);
    if (!s) return;
    s.delete(res);
    if (s.size === 0) {
      subscribers.delete(user);
      void sub.unsubscribe(channel(user));
    }
  });
  try {
    const [id, time, status] = await redis.hmget(key(user), 'id', 'time', 'status');
    if (id !== null && time !== null && status !== null && !res.destroyed) res.write(frame(id, time, status));
  } catch {
    /* cache miss on redis error: stream stays open */
  }
}

const server = http.createServer((req, res) => {
  const url = req.url ?? '/';
  if (req.method === 'POST' && url === '/ping') {
    void handlePing(req, res);
    return;
  }
  const m = req.method === 'GET' ? /^\/subscribe\/([^/?]+)(?:\/client\/[^/?]+)?\/?(?:\?.*)?$/.exec(url) : null;
  if (m) {
    void handleSubscribe(decodeURIComponent(m[1]), req, res);
    return;
  }
  reply(res, 404);
});
server.keepAliveTimeout = 65_000;
server.listen(listenPort, listenHost, 1024);

const adminListen = process.env.ADMIN_LISTEN ?? '';
const admin = adminListen
  ? http
      .createServer((_req, res) => {
        let streams = 0;
        for (const set of subscribers.values()) streams += set.size;
        res.end(
          `# TYPE baseline_live_subscriptions gauge\nbaseline_live_subscriptions ${streams}\nbaseline_live_users ${subscribers.size}\n`,
        );
      })
      .listen(hostPort(adminListen)[1], hostPort(adminListen)[0])
  : null;

function shutdown(): void {
  admin?.close();
  server.close();
  server.closeAllConnections();
  void Promise.allSettled([redis.quit(), sub.quit()]).then(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
