import type { ChainClient } from '@persecond/contracts-client';
import type { Sfu } from '@persecond/sfu';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { SignalingConfig } from './config.ts';
import type { Pinner } from './ipfs/Pinner.ts';
import type { SignalingMetrics } from './metrics.ts';
import type { RequestHandlers, SignalingIo } from './RequestRouter.ts';

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
  /** Modules created before this one, by name (creation order is the order of `SIGNALING_MODULES`). */
  readonly modules: ReadonlyMap<string, SignalingModule>;
}

/** One concern of the signaling node (auth, ledger, streams, viewers…). */
export interface SignalingModule {
  readonly name: string;
  /** Socket request handlers this module answers. */
  readonly handlers?: RequestHandlers;
  /** Releases what the module holds; called in reverse creation order, once. */
  close?(): Promise<void>;
}

/** Creates a module once the context exists. */
export type SignalingModuleFactory = (ctx: SignalingContext) => Promise<SignalingModule>;
