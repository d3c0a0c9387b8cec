import { type ChainClient, connect } from '@persecond/contracts-client';
import { loadSfuConfig, Sfu } from '@persecond/sfu';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import pRetry from 'p-retry';
import { type Logger, pino } from 'pino';
import { Registry } from 'prom-client';
import { createClient } from 'redis';
import { Server } from 'socket.io';
import type { SignalingConfig } from './config.ts';
import { parseIpfsConfig } from './ipfs/config.ts';
import { createPinner } from './ipfs/createPinner.ts';
import type { Pinner } from './ipfs/Pinner.ts';
import { SignalingMetrics } from './metrics.ts';
import { SIGNALING_MODULES } from './modules.ts';
import type { StreamSummary } from './protocol.ts';
import { type RequestHandlers, RequestRouter, type SignalingIo } from './RequestRouter.ts';
import type { SignalingContext, SignalingModule, SignalingModuleFactory } from './SignalingContext.ts';

/** Parts the server composes; tests inject their own. */
export interface SignalingDeps {
  sfu?: Sfu;
  pinner?: Pinner;
  chain?: ChainClient;
  logger?: Logger;
  /** Modules to create (default: `SIGNALING_MODULES`). */
  modules?: readonly SignalingModuleFactory[];
  /** Extra handlers, merged over the modules' ones. */
  handlers?: RequestHandlers;
}

/** A running signaling node: HTTP API + Socket.IO, with the SFU inside. */
export interface SignalingServer {
  /** `http://host:port` it listens on. */
  readonly url: string;
  readonly io: SignalingIo;
  readonly sfu: Sfu;
  readonly pinner: Pinner;
  readonly chain: ChainClient | undefined;
  readonly modules: ReadonlyMap<string, SignalingModule>;
  /** Disconnects clients, stops HTTP, the adapter and the SFU (if it created it); safe to call twice. */
  close(): Promise<void>;
}

/** Creates and starts a signaling node. */
export async function createSignalingServer(
  config: SignalingConfig,
  deps: SignalingDeps = {},
): Promise<SignalingServer> {
  const log = deps.logger ?? pino({ name: 'signaling', level: config.LOG_LEVEL });
  const ownsSfu = !deps.sfu;
  const sfu = deps.sfu ?? (await Sfu.create(loadSfuConfig()));
  const metrics = new SignalingMetrics();
  const app = Fastify({
    loggerInstance: log.child({ part: 'http' }) as FastifyBaseLogger,
    disableRequestLogging: true,
  });
  const redis = config.REDIS_URL ? createClient({ url: config.REDIS_URL }) : undefined;
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  const closeAll = async () => {
    for (const fn of cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        log.warn({ err }, 'error while closing');
      }
    }
  };
  if (ownsSfu) cleanups.push(() => sfu.close());
  try {
    const pinner = deps.pinner ?? (await createPinner(parseIpfsConfig()));
    if (!deps.pinner) cleanups.push(() => pinner.close());
    let chain = deps.chain;
    if (!chain && config.CHAIN_WS_URL) {
      const url = config.CHAIN_WS_URL;
      // Under `npm start` the chain comes up alongside us: retry for a while before giving up.
      chain = await pRetry(() => connect(url, { timeoutMs: 5_000 }), {
        retries: 10,
        minTimeout: 500,
        maxTimeout: 5_000,
        onFailedAttempt: ({ error, attemptNumber }) =>
          log.warn({ err: error.message, attempt: attemptNumber, url }, 'chain not reachable yet'),
      });
      const owned = chain;
      cleanups.push(() => owned.close());
    }
    if (redis) {
      redis.on('error', (err) => log.error({ err }, 'redis error'));
      await redis.connect();
      cleanups.push(() => redis.quit());
    }
    app.addHook('onRequest', async (req, reply) => {
      const origin = req.headers.origin;
      if (origin && config.CORS_ORIGINS.includes(origin)) {
        reply.header('access-control-allow-origin', origin);
        reply.header('access-control-allow-credentials', 'true');
        reply.header('vary', 'origin');
      }
    });
    app.get('/healthz', async () => ({
      ok: true,
      sfu: sfu.health(),
      adapter: redis ? 'redis' : 'memory',
      sockets: io.engine.clientsCount,
    }));
    app.get('/metrics', async (_req, reply) => {
      // Merged per scrape: modules register their metrics after this route exists.
      const exported = Registry.merge([metrics.registry, sfu.metrics.registry]);
      reply.header('content-type', exported.contentType);
      return exported.metrics();
    });
    app.get('/v1/streams', async (): Promise<{ streams: StreamSummary[] }> => ({ streams: [] }));

    const io: SignalingIo = new Server(app.server, {
      cors: { origin: config.CORS_ORIGINS, credentials: true },
      serveClient: false,
      ...(redis ? { adapter: createAdapter(redis, { streamName: config.REDIS_STREAM }) } : {}),
    });
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          io.disconnectSockets(true);
          io.close(() => resolve());
        }),
    );
    io.on('connection', (socket) => {
      metrics.sockets.inc();
      socket.on('disconnect', () => metrics.sockets.dec());
    });
    const modules = new Map<string, SignalingModule>();
    const ctx: SignalingContext = { config, log, app, io, sfu, pinner, chain, metrics, modules };
    for (const factory of deps.modules ?? SIGNALING_MODULES) {
      const mod = await factory(ctx);
      modules.set(mod.name, mod);
      if (mod.close) cleanups.push(() => mod.close?.());
    }
    const handlers: RequestHandlers = Object.assign(
      {},
      ...[...modules.values()].map((m) => m.handlers ?? {}),
      deps.handlers,
    );
    new RequestRouter(handlers, metrics, log.child({ part: 'socket' })).attach(io);

    await app.listen({ host: config.HOST, port: config.PORT });
    // socket.io closes the HTTP server; fastify only needs its hooks run.
    cleanups.splice(cleanups.length - 1, 0, () => app.close());
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : config.PORT;
    let closing: Promise<void> | undefined;
    return {
      url: `http://${config.HOST}:${port}`,
      io,
      sfu,
      pinner,
      chain,
      modules,
      close: () => {
        closing ??= closeAll();
        return closing;
      },
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
