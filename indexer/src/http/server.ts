import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Queries } from '../db/queries.ts';
import type { Store } from '../db/Store.ts';
import { IndexerError } from '../errors.ts';
import type { ChainView } from '../follower/Follower.ts';
import type { IndexerMetrics } from '../metrics.ts';
import { registerApiRoutes } from './apiRoutes.ts';
import { readStatus } from './status.ts';

/** What the HTTP API reads from. */
export interface ServerDeps {
  store: Store;
  queries: Queries;
  /** Address format of returned addresses (input addresses in any format are normalized to it). */
  ss58: number;
  /** The chain as the follower last saw it. */
  chain: () => Readonly<ChainView>;
  metrics: IndexerMetrics;
  logger: Logger;
}

const HTTP_STATUS: Record<IndexerError['code'], number> = {
  BAD_REQUEST: 400,
  NOT_FOUND: 404,
  CHAIN_UNAVAILABLE: 503,
  RPC_FAILED: 503,
  DECODE_FAILED: 500,
  CHAIN_DATA_INVALID: 500,
  FINALITY_VIOLATION: 500,
  CLOSED: 503,
  INTERNAL: 500,
};

/** Builds the fastify app: `/healthz`, `/metrics`, `/v1/status` and the earnings API. */
export function buildServer(deps: ServerDeps): FastifyInstance {
  const app = Fastify({ loggerInstance: deps.logger.child({ component: 'http' }) as FastifyBaseLogger });

  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof IndexerError) {
      return reply.status(HTTP_STATUS[err.code]).send({ code: err.code, message: err.message });
    }
    const status = (err as { statusCode?: number }).statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      return reply.status(status).send({ code: 'BAD_REQUEST', message: (err as Error).message });
    }
    deps.logger.error({ err }, 'request failed');
    return reply.status(500).send({ code: 'INTERNAL', message: 'internal error' });
  });
  app.setNotFoundHandler((req, reply) =>
    reply.status(404).send({ code: 'NOT_FOUND', message: `no route ${req.method} ${req.url}` }),
  );

  app.get('/healthz', async () => ({ ok: true }));

  app.get('/metrics', async (_req, reply) => {
    // The status' gauges (lag, finalized lag, blocks/s) as of this scrape.
    await readStatus(deps.store, deps.chain(), deps.metrics);
    reply.header('content-type', deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });

  app.get('/v1/status', () => readStatus(deps.store, deps.chain(), deps.metrics));

  registerApiRoutes(app, deps.queries, deps.ss58);
  return app;
}
