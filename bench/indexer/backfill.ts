import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChainClient } from '@persecond/contracts-client';
import { createLogger, Follower, IndexerMetrics, openDatabase, Store } from '@persecond/indexer';

/** One backfill: a fresh database, blocks 0..head fetched, decoded and written in batches. */
export interface BackfillRun {
  seconds: number;
  blocks: number;
  blocksPerSecond: number;
  settlementsPerSecond: number;
}

/** Backfills `client`'s chain from block 0 into a fresh PGlite directory or PostgreSQL database; timed. */
export async function backfillOnce(
  client: ChainClient,
  target: { databaseUrl?: string; batchSize: number; settlements: number },
): Promise<BackfillRun> {
  const head = (await client.api.rpc.chain.getHeader()).number.toNumber();
  const dir = target.databaseUrl ? undefined : await mkdtemp(join(tmpdir(), 'persecond-bench-indexer-'));
  const database = await openDatabase({ databaseUrl: target.databaseUrl, dataDir: dir });
  const store = new Store(database.db);
  const follower = new Follower(store, {
    from: 0,
    batchSize: target.batchSize,
    finalityDepth: 0,
    ss58: 42,
    logger: createLogger('warn'),
    metrics: new IndexerMetrics(),
  });
  try {
    const t0 = performance.now();
    await follower.start(client.api);
    for (;;) {
      await follower.idle();
      if ((await store.cursor())?.head.number === head) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const seconds = (performance.now() - t0) / 1000;
    return {
      seconds,
      blocks: head + 1,
      blocksPerSecond: (head + 1) / seconds,
      settlementsPerSecond: target.settlements / seconds,
    };
  } finally {
    await follower.close();
    await database.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}
