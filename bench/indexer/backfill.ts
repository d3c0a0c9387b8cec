import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChainClient } from '@persecond/contracts-client';
import {
  createLogger,
  Follower,
  IndexerMetrics,
  openDatabase,
  type ReadWindow,
  Store,
  schema,
} from '@persecond/indexer';
import { count, sum } from 'drizzle-orm';

/** One backfill: a fresh database, blocks 0..head fetched, decoded and written in batches. */
export interface BackfillRun {
  seconds: number;
  blocks: number;
  blocksPerSecond: number;
  settlementsPerSecond: number;
  /** Load average when the run ended. */
  loadavg?: number[];
}

/** A fresh PGlite directory (removed by `dispose`) or the given PostgreSQL database. */
async function freshDatabase(databaseUrl: string | undefined) {
  const dir = databaseUrl ? undefined : await mkdtemp(join(tmpdir(), 'persecond-bench-indexer-'));
  const database = await openDatabase({ databaseUrl, dataDir: dir });
  return {
    database,
    dispose: async () => {
      await database.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Backfills `client`'s chain from block `from` with the real Follower into a fresh PGlite directory or PostgreSQL
 * database; timed from start to the cursor reaching the head. Checks every settlement was written.
 */
export async function backfillOnce(
  client: ChainClient,
  target: {
    databaseUrl?: string;
    /** First block: the chain's own blocks (chopsticks' setup blocks below do not link up when resumed). */
    from: number;
    batchSize: number;
    read: ReadWindow;
    settlements: number;
    planck: bigint;
  },
): Promise<BackfillRun> {
  const head = (await client.api.rpc.chain.getHeader()).number.toNumber();
  const { database, dispose } = await freshDatabase(target.databaseUrl);
  const store = new Store(database.db);
  const follower = new Follower(store, {
    from: target.from,
    batchSize: target.batchSize,
    read: target.read,
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
    const [written] = await database.db
      .select({ n: count(), planck: sum(schema.settlements.amount) })
      .from(schema.settlements);
    if (written?.n !== target.settlements || BigInt(written.planck ?? 0) !== target.planck) {
      throw new Error(
        `backfill wrote ${written?.n} settlements (${written?.planck} planck), ` +
          `the chain has ${target.settlements} (${target.planck})`,
      );
    }
    return {
      seconds,
      blocks: head - target.from + 1,
      blocksPerSecond: (head - target.from + 1) / seconds,
      settlementsPerSecond: target.settlements / seconds,
    };
  } finally {
    await follower.close();
    await dispose();
  }
}
