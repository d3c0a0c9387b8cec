import { connect, createServer, type Server, type Socket } from 'node:net';

/** A loopback TCP relay to a real server, able to cut every connection (a forced WebSocket drop) and refuse new ones. */
export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private refusing = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** Listens on 127.0.0.1:0 and relays to 127.0.0.1:`targetPort`. */
  static async start(targetPort: number): Promise<TcpProxy> {
    let proxy!: TcpProxy;
    const server = createServer((client) => {
      if (proxy.refusing) {
        client.destroy();
        return;
      }
      const upstream = connect(targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        proxy.sockets.add(s);
        s.on('close', () => proxy.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    proxy = new TcpProxy(server, address.port);
    return proxy;
  }

  /** Cuts every open connection and refuses new ones until resume(). */
  drop(): void {
    this.refusing = true;
    for (const s of this.sockets) s.destroy();
  }

  /** Accepts connections again. */
  resume(): void {
    this.refusing = false;
  }

  /** Number of open relayed sockets (client and upstream sides). */
  get openSockets(): number {
    return this.sockets.size;
  }

  /** Closes the listener and every connection. */
  async close(): Promise<void> {
    this.drop();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
