import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** The indexer's Prometheus metrics, on a registry of its own (several indexers may share a process in tests). */
export class IndexerMetrics {
  readonly registry = new Registry();
  readonly indexedHeight = new Gauge({
    name: 'indexer_indexed_height',
    help: 'Last block written',
    registers: [this.registry],
  });
  readonly finalizedHeight = new Gauge({
    name: 'indexer_finalized_height',
    help: 'Last block marked final',
    registers: [this.registry],
  });
  readonly chainHeight = new Gauge({
    name: 'indexer_chain_best_height',
    help: 'Best block seen on the chain',
    registers: [this.registry],
  });
  readonly blocksWritten = new Counter({
    name: 'indexer_blocks_written_total',
    help: 'Blocks written',
    registers: [this.registry],
  });
  readonly eventsWritten = new Counter({
    name: 'indexer_events_written_total',
    help: 'Protocol events written, by type',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });
  readonly reorgs = new Counter({
    name: 'indexer_reorgs_total',
    help: 'Rollbacks of pending blocks that left the canonical chain',
    registers: [this.registry],
  });
  readonly batchSeconds = new Histogram({
    name: 'indexer_batch_seconds',
    help: 'Time to fetch, decode and write one batch of blocks',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly metadataFetches = new Counter({
    name: 'indexer_metadata_fetches_total',
    help: 'Stream metadata fetch attempts, by outcome (fetched, invalid, unavailable)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly syncErrors = new Counter({
    name: 'indexer_sync_errors_total',
    help: 'Failed sync rounds (retried)',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
