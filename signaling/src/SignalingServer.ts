import cors from '@fastify/cors';
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
import { watchChain } from './dependencies/chainDependency.ts';
import { watchRedis } from './dependencies/redisDependency.ts';
import { OriginPolicy } from './http/origins.ts';
import { trustProxyOption } from './http/trustProxy.ts';
import { parseIpfsConfig } from './ipfs/config.ts';
import { createPinner } from './ipfs/createPinner.ts';
import type { Pinner } from './ipfs/Pinner.ts';
import { LOG_REDACTION } from './logRedaction.ts';
import { SignalingMetrics } from './metrics.ts';
import { SIGNALING_MODULES } from './modules.ts';
import { type RequestHandlers, RequestRouter, type SignalingIo } from './RequestRouter.ts';
import type { ModuleHealth, SignalingContext, SignalingModule, SignalingModuleFactory } from './SignalingContext.ts';

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

/**
 * The modules' part of `/healthz`: `status` is `degraded` while any module's dependency is away (HTTP 200 still: the
 * node serves what it can, and every node sharing that dependency would be degraded alike), each module's own state
 * under its name.
 */
function modulesHealth(modules: ReadonlyMap<string, SignalingModule>): {
  status: ModuleHealth['status'];
  modules: Record<string, ModuleHealth>;
} {
  const states: Record<string, ModuleHealth> = {};
  let status: ModuleHealth['status'] = 'ok';
  for (const [name, mod] of modules) {
    if (!mod.health) continue;
    const state = mod.health();
    states[name] = state;
    if (state.status !== 'ok') status = 'degraded';
  }
  return { status, modules: states };
}

/** Creates and starts a signaling node. */
export async function createSignalingServer(
  config: SignalingConfig,
  deps: SignalingDeps = {},
): Promise<SignalingServer> {
  const log = deps.logger ?? pino({ name: 'signaling', level: config.LOG_LEVEL, redact: LOG_REDACTION });
  const ownsSfu = !deps.sfu;
  // One logger per node: the SFU's lines go through it (part=sfu), not to stdout on their own.
  const sfu = deps.sfu ?? (await Sfu.create(loadSfuConfig(), { logger: log.child({ part: 'sfu' }) }));
  const metrics = new SignalingMetrics();
  const origins = new OriginPolicy(config.CORS_ORIGINS);
  const app = Fastify({
    // `request.ip` (the sign-in limiter's key) is the peer's address unless a trusted proxy names the client.
    trustProxy: trustProxyOption(config.TRUST_PROXY),
    // Per-request lines are info level; keep HTTP logging to warnings and errors.
    loggerInstance: log.child({ part: 'http' }, { level: 'warn' }) as FastifyBaseLogger,
  });
  const redis = config.REDIS_URL ? createClient({ url: config.REDIS_URL }) : undefined;
  // Closed in reverse order of acquisition, after the front door (sockets, modules, HTTP) is shut.
  const resources: (() => Promise<unknown> | unknown)[] = [];
  const modules = new Map<string, SignalingModule>();
  let io: SignalingIo | undefined;
  const attempt = async (fn: () => Promise<unknown> | unknown) => {
    try {
      await fn();
    } catch (err) {
      log.warn({ err }, 'error while closing');
    }
  };
  const closeAll = async () => {
    // No new requests reach a module that is closing: disconnect every client first.
    io?.disconnectSockets(true);
    for (const mod of [...modules.values()].reverse()) await attempt(() => mod.close?.());
    const server = io;
    if (server) await attempt(() => new Promise<void>((resolve) => server.close(() => resolve())));
    // socket.io has closed the HTTP server; fastify still runs its onClose hooks.
    await attempt(() => app.close());
    for (const fn of resources.splice(0).reverse()) await attempt(fn);
  };
  if (ownsSfu) resources.push(() => sfu.close());
  try {
    const pinner = deps.pinner ?? (await createPinner(parseIpfsConfig()));
    if (!deps.pinner) resources.push(() => pinner.close());
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
      resources.push(() => owned.close());
    }
    if (redis) {
      redis.on('error', (err) => log.error({ err }, 'redis error'));
      await redis.connect();
      resources.push(() => redis.quit());
    }
    // Before any route: a foreign page's cookie-carrying POST needs no preflight, so CORS alone would let it through.
    origins.guardWrites(app);
    // DELETE for `DELETE /v1/streams/:id/replay` (the plugin's default answers preflights for GET, HEAD and POST only).
    await app.register(cors, { origin: config.CORS_ORIGINS, credentials: true, methods: 'GET,HEAD,POST,DELETE' });
    app.get('/healthz', async () => ({
      ok: true,
      ...modulesHealth(modules),
      sfu: sfu.health(),
      adapter: redis ? 'redis' : 'memory',
      sockets: io?.engine.clientsCount ?? 0,
    }));
    app.get('/metrics', async (_req, reply) => {
      // Merged per scrape: modules register their metrics after this route exists.
      const exported = Registry.merge([metrics.registry, sfu.metrics.registry]);
      reply.header('content-type', exported.contentType);
      return exported.metrics();
    });

    const sio: SignalingIo = new Server(app.server, {
      cors: { origin: config.CORS_ORIGINS, credentials: true },
      // A WebSocket has no CORS: a foreign page could open one with the wallet's session cookie.
      allowRequest: origins.allowRequest,
      serveClient: false,
      ...(redis ? { adapter: createAdapter(redis, { streamName: config.REDIS_STREAM }) } : {}),
    });
    io = sio;
    sio.on('connection', (socket) => {
      metrics.sockets.inc();
      socket.on('disconnect', () => metrics.sockets.dec());
    });
    // Watched first (closed last): the modules read their state through `dependencyOf(ctx.modules, …)`.
    if (redis) modules.set('redis', watchRedis(redis, metrics.registry, log));
    if (chain) modules.set('chain', watchChain(chain, metrics.registry, log));
    const ctx: SignalingContext = { config, log, app, io: sio, sfu, pinner, chain, metrics, redis, modules };
    for (const factory of deps.modules ?? SIGNALING_MODULES) {
      const mod = await factory(ctx);
      modules.set(mod.name, mod);
    }
    const handlers: RequestHandlers = Object.assign(
      {},
      ...[...modules.values()].map((m) => m.handlers ?? {}),
      deps.handlers,
    );
    new RequestRouter(handlers, metrics, log.child({ part: 'socket' })).attach(sio);

    await app.listen({ host: config.HOST, port: config.PORT });
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : config.PORT;
    let closing: Promise<void> | undefined;
    return {
      url: `http://${config.HOST}:${port}`,
      io: sio,
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
