export { ChainReader, type RawBlock, SYSTEM_EVENTS_KEY } from './chain/ChainReader.ts';
export { type DecodeStats, decodeRawBlock } from './chain/decodeRaw.ts';
export type { BlockId, IndexedBlock } from './chain/IndexedBlock.ts';
export {
  type BlockLink,
  RuntimeRegistries,
  type RuntimeSource,
  type VersionedRegistry,
} from './chain/RuntimeRegistries.ts';
export { type IndexerConfig, loadIndexerConfig } from './config.ts';
export {
  type Database,
  type DatabaseOptions,
  type Db,
  DEFAULT_DATA_DIR,
  MIGRATIONS_FOLDER,
  openDatabase,
} from './db/database.ts';
export {
  type AssetAmounts,
  type Bucket,
  EARNING_KINDS,
  type EarningKind,
  type Earnings,
  type EarningsBucket,
  type EarningsScope,
  type PendingFinal,
  type StreamAmounts,
} from './db/earnings.ts';
export { type MetadataFailure, MetadataStore } from './db/MetadataStore.ts';
export {
  Queries,
  type SettlementsCursor,
  type SettlementView,
  type StreamView,
} from './db/queries.ts';
export { type Cursor, Store, type WrittenCounts } from './db/Store.ts';
export * as schema from './db/schema.ts';
export { errorCode, errorKind, IndexerError, type IndexerErrorCode } from './errors.ts';
export {
  type ChainView,
  Follower,
  type FollowerFailure,
  type FollowerOptions,
} from './follower/Follower.ts';
export { type BlockSource, type ReadWindow, readRange } from './follower/readRange.ts';
export { buildServer, type ServerDeps } from './http/server.ts';
export { type Indexer, type IndexerDeps, startIndexer } from './Indexer.ts';
export { createLogger } from './logger.ts';
export {
  METADATA_FETCH_ERRORS,
  MetadataFetchError,
  type MetadataFetchErrorCode,
} from './metadata/errors.ts';
export { type FetchedMetadata, fetchMetadataDocument } from './metadata/fetchMetadataDocument.ts';
export { GatewayBlockstore, type GatewayBlockstoreOptions } from './metadata/GatewayBlockstore.ts';
export { MetadataFetcher, type MetadataFetcherOptions } from './metadata/MetadataFetcher.ts';
export { IndexerMetrics } from './metrics.ts';
