import type { BlockId } from '../chain/IndexedBlock.ts';
import type { Store } from '../db/Store.ts';
import type { ChainView, FollowerFailure } from '../follower/Follower.ts';
import type { IndexerMetrics } from '../metrics.ts';

/** `GET /v1/status`: where the indexer stands against the chain. */
export interface IndexerStatus {
  /** Last block written (the indexer's head). */
  indexedHead: BlockId | null;
  /** Last block the indexer marked final. */
  finalizedHead: BlockId | null;
  /** The chain's best and finalized heads as the follower last saw them. */
  chain: { best: BlockId | null; finalized: BlockId | null };
  /** Blocks between the chain's best head and the indexer's head. */
  lag: number | null;
  /** Blocks between the chain's finalized head and the indexer's final block (earnings still shown pending). */
  finalizedLag: number | null;
  /** Blocks written per second over the last 10 s. */
  blocksPerSecond: number;
  /** Set once a fatal error stopped the follower: what stopped it (it is not retried). */
  stopped: FollowerFailure | null;
}

/**
 * Reads the status and sets the gauges that report the same figures (`indexer_lag_blocks`,
 * `indexer_finalized_lag_blocks`, `indexer_chain_finalized_height`, `indexer_blocks_per_second`), so a scrape and
 * the status never disagree.
 */
export async function readStatus(
  store: Store,
  chain: Readonly<ChainView>,
  metrics: IndexerMetrics,
): Promise<IndexerStatus> {
  const cursor = await store.cursor();
  const indexed = cursor?.head ?? null;
  const finalized = cursor && cursor.finalized.hash !== '' ? cursor.finalized : null;
  const lag = chain.best ? chain.best.number - (indexed?.number ?? -1) : null;
  const finalizedLag = chain.finalized ? chain.finalized.number - (finalized?.number ?? -1) : null;
  const blocksPerSecond = metrics.blockRate.perSecond();
  if (chain.finalized) metrics.chainFinalizedHeight.set(chain.finalized.number);
  if (lag !== null) metrics.lag.set(lag);
  if (finalizedLag !== null) metrics.finalizedLag.set(finalizedLag);
  metrics.blocksPerSecond.set(blocksPerSecond);
  return {
    indexedHead: indexed,
    finalizedHead: finalized,
    chain: { best: chain.best ?? null, finalized: chain.finalized ?? null },
    lag,
    finalizedLag,
    blocksPerSecond,
    stopped: chain.failure ?? null,
  };
}
