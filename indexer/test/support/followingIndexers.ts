import { loadIndexerConfig } from '../../src/config.ts';
import { type Indexer, startIndexer } from '../../src/Indexer.ts';
import { createLogger } from '../../src/logger.ts';
import { getJson, waitFor } from './http.ts';
import { createScratchDatabase, type ScratchDatabase } from './postgres.ts';

/** Pending and final planck as the earnings API writes them. */
export interface PendingFinal {
  pending: string;
  final: string;
}

/** One amounts entry of the earnings API: the total and each kind. */
export interface Amounts extends PendingFinal {
  asset: string;
  kinds: { live: PendingFinal; replay: PendingFinal; tip: PendingFinal };
}

/** Indexers following one chain: always one on in-memory PGlite, one on a scratch PostgreSQL when `DATABASE_URL` is set. */
export interface FollowingIndexers {
  readonly pglite: Indexer;
  readonly postgres: Indexer | undefined;
  /** Closes the indexers and drops the scratch database; safe to call twice. */
  close(): Promise<void>;
}

/** Starts the indexers on `wsUrl` with `finalityDepth` confirmations. */
export async function startFollowingIndexers(wsUrl: string, finalityDepth: number): Promise<FollowingIndexers> {
  const base = { CHAIN_WS_URL: wsUrl, PORT: '0', INDEXER_FINALITY_DEPTH: String(finalityDepth) };
  const logger = createLogger('warn');
  const pglite = await startIndexer(loadIndexerConfig({ ...base, INDEXER_DATA_DIR: 'memory://' }), { logger });
  let scratch: ScratchDatabase | undefined;
  let postgres: Indexer | undefined;
  const pgUrl = process.env.DATABASE_URL;
  if (pgUrl) {
    scratch = await createScratchDatabase(pgUrl);
    postgres = await startIndexer(loadIndexerConfig({ ...base, DATABASE_URL: scratch.url }), { logger });
  }
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      await pglite.close();
      await postgres?.close();
      await scratch?.drop();
    })();
    return closed;
  };
  return { pglite, postgres, close };
}

/** Waits until `indexer` has written block `head`. */
export async function waitForIndexedHead(indexer: Indexer, head: number): Promise<void> {
  await waitFor(
    async () => {
      const { body } = await getJson<{ indexedHead: { number: number } | null }>(`${indexer.url}/v1/status`);
      return body.indexedHead?.number === head ? true : undefined;
    },
    `indexed head ${head}`,
    120_000,
  );
}
