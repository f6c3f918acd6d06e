import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP relay in front of one server (a redis-server) that a test can cut: every connection
 * through it is dropped and new ones are refused until `restore()`. Cuts one client process off
 * its Redis while the others keep theirs, which killing Redis cannot do.
 */
export class TcpRelay {
  private readonly sockets = new Set<Socket>();
  private cut = false;

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
      client.pipe(upstream);
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

  close(): Promise<void> {
    this.cutOff();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
