import type { ChainClient } from '@persecond/contracts-client';
import type { Sfu } from '@persecond/sfu';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { createClient } from 'redis';
import type { SignalingConfig } from './config.ts';
import type { Pinner } from './ipfs/Pinner.ts';
import type { SignalingMetrics } from './metrics.ts';
import type { RequestHandlers, SignalingIo } from './RequestRouter.ts';

/** A Redis client (node-redis). */
export type RedisClient = ReturnType<typeof createClient>;

/** What every signaling module gets: the node's configuration, servers and shared parts. */
export interface SignalingContext {
  readonly config: SignalingConfig;
  readonly log: Logger;
  /** HTTP routes are registered here before the server listens. */
  readonly app: FastifyInstance;
  /** Socket.IO server: modules may add `io.use` middleware; request events go through `handlers`. */
  readonly io: SignalingIo;
  readonly sfu: Sfu;
  readonly pinner: Pinner;
  /** The chain, when CHAIN_WS_URL is configured. */
  readonly chain: ChainClient | undefined;
  readonly metrics: SignalingMetrics;
  /**
   * The node's one Redis client, connected, when REDIS_URL is set (closed by the node after its modules). Modules
   * share it for ordinary commands; a subscriber or a blocking read needs its own `redis.duplicate()`.
   */
  readonly redis: RedisClient | undefined;
  /** Modules created before this one, by name (creation order is the order of `SIGNALING_MODULES`). */
  readonly modules: ReadonlyMap<string, SignalingModule>;
}

/** One concern of the signaling node (auth, ledger, streams, viewers…). */
export interface SignalingModule {
  readonly name: string;
  /** Socket request handlers this module answers. */
  readonly handlers?: RequestHandlers;
  /** The state of what the module depends on, for `/healthz` (e.g. the ledger's database); none: always ok. */
  health?(): ModuleHealth;
  /** Releases what the module holds; called in reverse creation order, once. */
  close?(): Promise<void>;
}

/** A module's part of `/healthz`: `degraded` while a dependency it needs is away (the node keeps serving). */
export interface ModuleHealth {
  status: 'ok' | 'degraded';
  [detail: string]: unknown;
}

/** Creates a module once the context exists. */
export type SignalingModuleFactory = (ctx: SignalingContext) => Promise<SignalingModule>;
