import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ChainClient, decodeBlockData } from '@persecond/contracts-client';
import {
  createLogger,
  Follower,
  type IndexedBlock,
  IndexerMetrics,
  openDatabase,
  Store,
  schema,
} from '@persecond/indexer';
import type { EventRecord, SignedBlock } from '@polkadot/types/interfaces';
import { count } from 'drizzle-orm';

/** One backfill: a fresh database, blocks 0..head fetched, decoded and written in batches. */
export interface BackfillRun {
  seconds: number;
  blocks: number;
  blocksPerSecond: number;
  settlementsPerSecond: number;
}

/** Time to write already decoded blocks into a fresh database (the follower's write step alone). */
export interface WriteRun {
  seconds: number;
  blocksPerSecond: number;
}

/** Time to fetch every block and its events over RPC, and to decode them (the follower's read steps alone). */
export interface ReadRun {
  fetchSeconds: number;
  decodeSeconds: number;
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
 * Backfills `client`'s chain from block 0 with the real Follower into a fresh PGlite directory or PostgreSQL
 * database; timed from start to the cursor reaching the head. Checks every settlement was written.
 */
export async function backfillOnce(
  client: ChainClient,
  target: { databaseUrl?: string; batchSize: number; settlements: number },
): Promise<BackfillRun> {
  const head = (await client.api.rpc.chain.getHeader()).number.toNumber();
  const { database, dispose } = await freshDatabase(target.databaseUrl);
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
    const [written] = await database.db.select({ n: count() }).from(schema.settlements);
    if (written?.n !== target.settlements) {
      throw new Error(`backfill wrote ${written?.n} settlements, the chain has ${target.settlements}`);
    }
    return {
      seconds,
      blocks: head + 1,
      blocksPerSecond: (head + 1) / seconds,
      settlementsPerSecond: target.settlements / seconds,
    };
  } finally {
    await follower.close();
    await dispose();
  }
}

/** The block's time from its `timestamp.set` inherent (genesis has none), as the indexer reads it. */
function blockTime(block: SignedBlock): Date {
  const set = block.block.extrinsics.find((ex) => ex.method.section === 'timestamp' && ex.method.method === 'set');
  return new Date(set ? Number(set.method.args[0]!.toString()) : 0);
}

/**
 * Reads blocks 0..head like the follower does (`batchSize` requests in flight over the one WebSocket), timing the
 * RPC fetch and the decoding apart; returns the decoded blocks for write-only runs.
 */
export async function readOnce(client: ChainClient, batchSize: number): Promise<ReadRun & { blocks: IndexedBlock[] }> {
  const { api } = client;
  const head = (await api.rpc.chain.getHeader()).number.toNumber();
  const raw: Array<{ hash: string; block: SignedBlock; records: EventRecord[] }> = [];
  const t0 = performance.now();
  for (let from = 0; from <= head; from += batchSize) {
    const numbers = Array.from({ length: Math.min(batchSize, head - from + 1) }, (_, i) => from + i);
    raw.push(
      ...(await Promise.all(
        numbers.map(async (n) => {
          const hash = (await api.rpc.chain.getBlockHash(n)).toHex();
          const [block, at] = await Promise.all([api.rpc.chain.getBlock(hash), api.at(hash)]);
          return { hash, block, records: (await at.query.system.events()) as unknown as EventRecord[] };
        }),
      )),
    );
  }
  const t1 = performance.now();
  const blocks = raw.map(({ hash, block, records }) => ({
    ...decodeBlockData(block, records, 42),
    hash,
    time: blockTime(block),
  }));
  const t2 = performance.now();
  return { fetchSeconds: (t1 - t0) / 1000, decodeSeconds: (t2 - t1) / 1000, blocks };
}

/** Writes decoded blocks in batches of `batchSize` (each block final) into a fresh database; timed. */
export async function writeOnce(
  blocks: readonly IndexedBlock[],
  target: { databaseUrl?: string; batchSize: number },
): Promise<WriteRun> {
  const { database, dispose } = await freshDatabase(target.databaseUrl);
  try {
    const store = new Store(database.db);
    const t0 = performance.now();
    for (let i = 0; i < blocks.length; i += target.batchSize) {
      const batch = blocks.slice(i, i + target.batchSize);
      await store.writeBatch(batch, batch.at(-1)!.number);
    }
    const seconds = (performance.now() - t0) / 1000;
    return { seconds, blocksPerSecond: blocks.length / seconds };
  } finally {
    await dispose();
  }
}
