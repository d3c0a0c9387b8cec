import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { BlockRate } from './BlockRate.ts';

/** The indexer's Prometheus metrics, on a registry of its own (several indexers may share a process in tests). */
export class IndexerMetrics {
  readonly registry = new Registry();
  readonly indexedHeight = this.gauge('indexer_indexed_height', 'Last block written');
  readonly finalizedHeight = this.gauge('indexer_finalized_height', 'Last block marked final');
  readonly chainHeight = this.gauge('indexer_chain_best_height', 'Best block seen on the chain');
  readonly chainFinalizedHeight = this.gauge('indexer_chain_finalized_height', 'Finalized block seen on the chain');
  readonly lag = this.gauge('indexer_lag_blocks', "Blocks between the chain's best head and the last block written");
  readonly finalizedLag = this.gauge(
    'indexer_finalized_lag_blocks',
    "Blocks between the chain's finalized head and the last block the indexer marked final",
  );
  readonly blocksPerSecond = this.gauge('indexer_blocks_per_second', 'Blocks written per second over the last 10 s');
  /** Feeds `blocksPerSecond` (and the status' figure): each written batch is recorded here. */
  readonly blockRate = new BlockRate();
  readonly blocksWritten = this.counter('indexer_blocks_written_total', 'Blocks written');
  readonly eventsWritten = this.counter('indexer_events_written_total', 'Protocol events written, by type', ['type']);
  readonly reorgs = this.counter('indexer_reorgs_total', 'Rollbacks of pending blocks that left the canonical chain');
  readonly batchSeconds = new Histogram({
    name: 'indexer_batch_seconds',
    help: 'Time to fetch, decode and write one batch of blocks',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly metadataFetches = this.counter(
    'indexer_metadata_fetches_total',
    'Stream metadata fetch attempts, by outcome (fetched, invalid, unavailable)',
    ['outcome'],
  );
  readonly syncErrors = this.counter('indexer_sync_errors_total', 'Failed sync rounds (retried)');
  readonly fatalErrors = this.counter(
    'indexer_fatal_errors_total',
    'Errors that stopped the follower (not retried), by code',
    ['code'],
  );
  readonly followerStopped = this.gauge(
    'indexer_follower_stopped',
    '1 once a fatal error stopped the follower (see indexer_fatal_errors_total and GET /v1/status)',
  );

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  private gauge(name: string, help: string): Gauge {
    return new Gauge({ name, help, registers: [this.registry] });
  }

  private counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }
}
