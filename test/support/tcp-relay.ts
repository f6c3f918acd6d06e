import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP relay in front of one server (a redis-server) that a test can cut: every connection
 * through it is dropped and new ones are refused until `restore()`. Cuts one client process off
 * its Redis while the others keep theirs, which killing Redis cannot do. It can also hold what its
 * clients send (`hold()`, `release()`): a command sent meanwhile reaches the server late, after its
 * client gave up on it, as a command re-sent by the Redis client after a reconnect or a failover.
 */
export class TcpRelay {
  private readonly sockets = new Set<Socket>();
  /** Each client socket and the server connection its bytes are piped to. */
  private readonly upstreams = new Map<Socket, Socket>();
  private cut = false;
  private held = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpRelay> {
    let relay: TcpRelay | null = null;
    const server = createServer((client) => {
      if (!relay || relay.cut) return void client.destroy();
      const upstream = connect({ host: targetHost, port: targetPort });
      for (const socket of [client, upstream]) {
        relay.sockets.add(socket);
        socket.on('error', () => {});
        socket.on('close', () => {
          relay?.sockets.delete(socket);
          client.destroy();
          upstream.destroy();
        });
      }
      relay.upstreams.set(client, upstream);
      client.on('close', () => relay?.upstreams.delete(client));
      if (!relay.held) client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    relay = new TcpRelay(server, (server.address() as { port: number }).port);
    return relay;
  }

  /** `127.0.0.1:<port>`, the form REDIS takes. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Drops every connection and refuses new ones. */
  cutOff(): void {
    this.cut = true;
    for (const socket of this.sockets) socket.destroy();
  }

  restore(): void {
    this.cut = false;
  }

  /** Keeps every byte the clients send from the server (they stay buffered here) until `release()`. */
  hold(): void {
    this.held = true;
    for (const client of this.upstreams.keys()) {
      client.unpipe();
      client.pause();
    }
  }

  /** Bytes the clients sent that are being held (0 unless `hold()`): a test waits for its command to be here. */
  heldBytes(): number {
    let bytes = 0;
    if (this.held) for (const client of this.upstreams.keys()) bytes += client.readableLength;
    return bytes;
  }

  /** Sends on everything held, in order, and relays again. */
  release(): void {
    this.held = false;
    for (const [client, upstream] of this.upstreams) client.pipe(upstream);
  }

  close(): Promise<void> {
    this.cutOff();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
