import { type ChainClient, connect } from '@persecond/contracts-client';
import type { Logger } from 'pino';
import type { IndexerConfig } from './config.ts';
import { type Database, openDatabase } from './db/database.ts';
import { MetadataStore } from './db/MetadataStore.ts';
import { Queries } from './db/queries.ts';
import { Store } from './db/Store.ts';
import { IndexerError } from './errors.ts';
import { Follower } from './follower/Follower.ts';
import { buildServer } from './http/server.ts';
import { createLogger } from './logger.ts';
import { MetadataFetcher } from './metadata/MetadataFetcher.ts';
import { IndexerMetrics } from './metrics.ts';

/** Extra wiring for startIndexer. */
export interface IndexerDeps {
  logger?: Logger;
}

/** A running indexer: database, chain follower and HTTP API. */
export interface Indexer {
  /** `http://<host>:<port>` of the API. */
  readonly url: string;
  readonly database: Database;
  readonly store: Store;
  readonly follower: Follower;
  /** Fetches announced streams' metadata; undefined when IPFS_GATEWAY_URL is unset. */
  readonly metadata: MetadataFetcher | undefined;
  /**
   * Stops the API, the follower (after its batch in flight), the chain connection, the metadata fetcher and the
   * database; idempotent.
   */
  close(): Promise<void>;
}

const RECONNECT_MS = 1000;
/**
 * Per-request RPC time limit. Generous on purpose: a backfill round has hundreds of requests in flight, and on a
 * loaded node a short limit fails every round and the retries only add load (the follower then never advances).
 */
const RPC_TIMEOUT_MS = 60_000;

/**
 * Connects to the chain in the background, retrying until it answers (under `npm start` the chain boots alongside
 * the indexer), then starts the follower on it. Closing stops the follower before the connection.
 */
function connectWithRetry(config: IndexerConfig, follower: Follower, logger: Logger): { close(): Promise<void> } {
  let closed = false;
  let client: ChainClient | undefined;
  let wake: (() => void) | undefined;
  const running = (async () => {
    while (!closed) {
      try {
        client = await connect(config.CHAIN_WS_URL, { ss58: config.SS58_PREFIX, timeoutMs: RPC_TIMEOUT_MS });
        break;
      } catch (err) {
        if (closed) return;
        logger.warn({ err, url: config.CHAIN_WS_URL }, 'chain unavailable; retrying');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, RECONNECT_MS);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
    if (closed || !client) return;
    await follower.start(client.api);
    logger.info({ url: config.CHAIN_WS_URL, specName: client.facts.specName }, 'following the chain');
  })().catch((err) => logger.error({ err }, 'chain connection failed'));
  let closing: Promise<void> | undefined;
  return {
    close() {
      closing ??= (async () => {
        closed = true;
        wake?.();
        await running;
        await follower.close();
        await client?.close();
      })();
      return closing;
    },
  };
}

/** Opens the database (migrating it), connects to the chain, starts following it and serves the API. */
export async function startIndexer(config: IndexerConfig, deps: IndexerDeps = {}): Promise<Indexer> {
  const logger = deps.logger ?? createLogger(config.LOG_LEVEL);
  const metrics = new IndexerMetrics();
  const steps: Array<() => Promise<void>> = [];
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      for (const step of steps.reverse()) {
        await step().catch((err) => logger.error({ err }, 'error while closing'));
      }
    })();
    return closing;
  };
  try {
    const database = await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.INDEXER_DATA_DIR });
    steps.push(() => database.close());
    const store = new Store(database.db);
    let metadata: MetadataFetcher | undefined;
    if (config.IPFS_GATEWAY_URL) {
      const fetcher = new MetadataFetcher(new MetadataStore(database.db, config.SS58_PREFIX), {
        gatewayUrl: config.IPFS_GATEWAY_URL,
        timeoutMs: config.IPFS_GATEWAY_TIMEOUT_MS,
        retryMinMs: config.METADATA_RETRY_MIN_MS,
        retryMaxMs: config.METADATA_RETRY_MAX_MS,
        logger,
        metrics,
      });
      steps.push(() => fetcher.close());
      // CIDs announced before a restart and not fetched yet.
      fetcher.kick();
      metadata = fetcher;
    } else {
      logger.info('IPFS_GATEWAY_URL is unset: stream metadata is not fetched');
    }
    const follower = new Follower(store, {
      from: config.INDEXER_FROM_BLOCK,
      batchSize: config.INDEXER_BATCH_SIZE,
      read: { chunkSize: config.INDEXER_READ_CHUNK, concurrency: config.INDEXER_READ_CONCURRENCY },
      finalityDepth: config.INDEXER_FINALITY_DEPTH,
      ss58: config.SS58_PREFIX,
      onBatch: async (batch) => {
        metrics.blockRate.record(batch.length);
        if (batch.some((b) => b.events.some((e) => e.type === 'announcement'))) metadata?.kick();
      },
      logger,
      metrics,
    });
    const chain = connectWithRetry(config, follower, logger);
    steps.push(() => chain.close());
    const app = buildServer({
      store,
      queries: new Queries(database.db),
      ss58: config.SS58_PREFIX,
      chain: () => follower.chain,
      metrics,
      logger,
    });
    steps.push(() => app.close());
    await app.listen({ host: config.HOST, port: config.PORT });
    const address = app.server.address();
    if (!address || typeof address === 'string') throw new IndexerError('INTERNAL', 'server has no TCP address');
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    logger.info({ url: `http://${host}:${address.port}`, db: database.kind }, 'indexer ready');
    return { url: `http://${host}:${address.port}`, database, store, follower, metadata, close };
  } catch (err) {
    await close();
    throw err;
  }
}
