import { z } from 'zod';

/** An optional variable where an empty value (`FOO=`) means unset. */
const optional = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

const IndexerEnv = z.object({
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8788),
  /** The dev chain or a real Asset Hub node. */
  CHAIN_WS_URL: z.url({ protocol: /^wss?$/ }),
  /** PostgreSQL; when unset the indexer uses embedded PGlite in INDEXER_DATA_DIR. */
  DATABASE_URL: optional(z.url({ protocol: /^postgres(ql)?$/ })),
  /** PGlite data directory; defaults to `.data/indexer` under the repository root. */
  INDEXER_DATA_DIR: optional(z.string()),
  /** First block to index when the database has no cursor yet. */
  INDEXER_FROM_BLOCK: z.coerce.number().int().min(0).default(0),
  /** Blocks written per transaction while backfilling. */
  INDEXER_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(100),
  /** Consecutive blocks read per chunk (one hash request and one runtime version check per chunk). */
  INDEXER_READ_CHUNK: z.coerce.number().int().min(1).max(1000).default(25),
  /** Chunks read at once: INDEXER_READ_CHUNK × this many blocks in flight, committed in order. */
  INDEXER_READ_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(8),
  /**
   * Extra confirmations before a block counts as final, on top of the chain's own finality. Chopsticks reports every
   * head as finalized, so the dev chain needs a depth to have a pending window at all.
   */
  INDEXER_FINALITY_DEPTH: z.coerce.number().int().min(0).default(0),
  /**
   * Trustless IPFS gateway stream metadata is fetched from (raw blocks, verified against their CIDs): a signaling
   * node (`/ipfs/:cid`) or Kubo's gateway. Unset: metadata is not fetched.
   */
  IPFS_GATEWAY_URL: optional(z.url({ protocol: /^https?$/ })),
  /** Time limit of one metadata document fetch (all its blocks). */
  IPFS_GATEWAY_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /** First retry delay after an unavailable metadata fetch; doubles per attempt up to METADATA_RETRY_MAX_MS. */
  METADATA_RETRY_MIN_MS: z.coerce.number().int().positive().default(5_000),
  /** Longest delay between two fetch attempts of the same metadata CID. */
  METADATA_RETRY_MAX_MS: z.coerce.number().int().positive().default(3_600_000),
  /** Address format of stored and returned addresses (42: generic Substrate, as dev wallets use). */
  SS58_PREFIX: z.coerce.number().int().min(0).max(16383).default(42),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/** Indexer configuration, parsed once from the environment. */
export type IndexerConfig = z.infer<typeof IndexerEnv>;

/** Parses the indexer environment; throws a readable error on bad values. */
export function loadIndexerConfig(env: NodeJS.ProcessEnv = process.env): IndexerConfig {
  const parsed = IndexerEnv.safeParse(env);
  if (!parsed.success) throw new Error(`invalid indexer configuration: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
