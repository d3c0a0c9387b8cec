// Indexer throughput and query latency.
// 1. Backfill: a Manual-mode dev chain filled with settlement blocks, indexed from block 0 by the real Follower into
//    a fresh PGlite directory and (with DATABASE_URL) a fresh PostgreSQL database: fetch + decode + write, blocks/s.
//    The same blocks are also read alone (RPC fetch and decode timed apart) and written alone (decoded blocks into a
//    fresh database), to show where the time goes.
// 2. Earnings query: 1,000,000 settlement rows in PostgreSQL (DATABASE_URL), p95 of GET /v1/creators/:a/earnings.
// Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/test node --import tsx bench/indexer/run.ts
//        [--runs=3] [--blocks=500] [--perBlock=8] [--batch=100] [--rows=1000000]
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, startDevChain } from '@persecond/contracts-client';
import pg from 'pg';
import { median } from '../stats.ts';
import { type BackfillRun, backfillOnce, type ReadRun, readOnce, type WriteRun, writeOnce } from './backfill.ts';
import { earningsQueryLatency } from './earningsQuery.ts';
import { buildSettlementChain } from './settlementChain.ts';

const here = dirname(fileURLToPath(import.meta.url));
const opt = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=');
    return [k, Number(v)];
  }),
) as Record<string, number | undefined>;
const RUNS = opt.runs ?? 3;
const BLOCKS = opt.blocks ?? 500;
const PER_BLOCK = opt.perBlock ?? 8;
const BATCH = opt.batch ?? 100;
const ROWS = opt.rows ?? 1_000_000;
const pgUrl = process.env.DATABASE_URL;

/** A scratch database on the server of `base`; returns its URL and a drop function. */
async function scratchDatabase(base: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `persecond_bench_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

const machine = {
  cpus: availableParallelism(),
  model: cpus()[0]?.model ?? 'unknown',
  loadavgAtStart: loadavg().map((x) => Number(x.toFixed(2))),
  node: process.version,
};

const chain = await startDevChain({ mode: 'Manual' });
const client = await connect(chain.wsUrl, { ss58: 42 });
interface BackendResult {
  runs: BackfillRun[];
  medianBlocksPerSecond: number;
  medianSettlementsPerSecond: number;
  writeOnly: { runs: WriteRun[]; medianSeconds: number; medianBlocksPerSecond: number };
}
const backfill: Record<string, BackendResult> = {};
let read: { runs: ReadRun[]; medianFetchSeconds: number; medianDecodeSeconds: number } | undefined;
let chainBlocks = 0;
let settlementsOnChain = 0;
let buildSeconds = 0;
let query: Awaited<ReturnType<typeof earningsQueryLatency>> | undefined;
try {
  console.error(`building ${BLOCKS} blocks × ${PER_BLOCK} settlements…`);
  const built = performance.now();
  const submitted = await buildSettlementChain(client, chain.wsUrl, BLOCKS, PER_BLOCK);
  // What the chain holds (chopsticks drops the odd extrinsic it cannot apply); every read and backfill must match it.
  let settlements = -1;
  buildSeconds = (performance.now() - built) / 1000;
  chainBlocks = (await client.api.rpc.chain.getHeader()).number.toNumber() + 1;

  const readRuns: ReadRun[] = [];
  let decoded: Awaited<ReturnType<typeof readOnce>>['blocks'] = [];
  for (let r = 0; r < RUNS; r++) {
    const run = await readOnce(client, BATCH);
    const found = run.blocks.reduce((n, b) => n + b.events.filter((e) => e.type === 'settlement').length, 0);
    if (settlements === -1) {
      settlements = found;
      settlementsOnChain = found;
      if (found < submitted * 0.9) throw new Error(`only ${found} of ${submitted} settlements made it on chain`);
    }
    if (found !== settlements) throw new Error(`read ${found} settlements, then ${settlements}`);
    decoded = run.blocks;
    readRuns.push({ fetchSeconds: run.fetchSeconds, decodeSeconds: run.decodeSeconds });
    console.error(
      `read run ${r + 1}: fetch ${run.fetchSeconds.toFixed(2)} s, decode ${run.decodeSeconds.toFixed(2)} s`,
    );
  }
  read = {
    runs: readRuns,
    medianFetchSeconds: median(readRuns.map((x) => x.fetchSeconds)),
    medianDecodeSeconds: median(readRuns.map((x) => x.decodeSeconds)),
  };

  for (const backend of pgUrl ? ['pglite', 'postgres'] : ['pglite']) {
    const runs: BackfillRun[] = [];
    const writes: WriteRun[] = [];
    for (let r = 0; r < RUNS; r++) {
      for (const step of ['backfill', 'write'] as const) {
        const scratch = backend === 'postgres' ? await scratchDatabase(pgUrl!) : undefined;
        try {
          if (step === 'backfill') {
            runs.push(await backfillOnce(client, { databaseUrl: scratch?.url, batchSize: BATCH, settlements }));
          } else {
            writes.push(await writeOnce(decoded, { databaseUrl: scratch?.url, batchSize: BATCH }));
          }
        } finally {
          await scratch?.drop();
        }
      }
      console.error(
        `${backend} run ${r + 1}: ${runs.at(-1)!.blocksPerSecond.toFixed(1)} blocks/s end to end, ` +
          `write alone ${writes.at(-1)!.seconds.toFixed(2)} s`,
      );
    }
    backfill[backend] = {
      runs,
      medianBlocksPerSecond: median(runs.map((x) => x.blocksPerSecond)),
      medianSettlementsPerSecond: median(runs.map((x) => x.settlementsPerSecond)),
      writeOnly: {
        runs: writes,
        medianSeconds: median(writes.map((x) => x.seconds)),
        medianBlocksPerSecond: median(writes.map((x) => x.blocksPerSecond)),
      },
    };
  }
  if (pgUrl) {
    const scratch = await scratchDatabase(pgUrl);
    try {
      console.error(`loading ${ROWS} settlement rows into PostgreSQL…`);
      query = await earningsQueryLatency({
        databaseUrl: scratch.url,
        creators: 1000,
        perCreator: Math.round(ROWS / 1000),
        queries: 200,
        runs: RUNS,
      });
    } finally {
      await scratch.drop();
    }
  }
} finally {
  await client.close();
  await chain.close();
}

const SQD = { low: 58, high: 76 };
const result = {
  machine: { ...machine, loadavgAtEnd: loadavg().map((x) => Number(x.toFixed(2))) },
  backfill: {
    chain:
      `chopsticks Manual mode (real Asset Hub runtime), ${BLOCKS} settlement blocks × ${PER_BLOCK} ps1:pay ` +
      'batches each, after the funding blocks; read over one local WebSocket',
    blocks: chainBlocks,
    settlements: settlementsOnChain,
    settlementsSubmitted: BLOCKS * PER_BLOCK,
    chainBuildSeconds: buildSeconds,
    batchSize: BATCH,
    method:
      `median of ${RUNS} runs; end to end = the Follower from block 0 to the head into a fresh database; ` +
      'read = RPC fetch of every block and its events, then decode (no database); write = the decoded blocks ' +
      'written alone in batches into a fresh database',
    anchor: 'SQD: 58–76 blocks/s syncing over RPC',
    read: read && {
      ...read,
      fetchBlocksPerSecond: chainBlocks / read.medianFetchSeconds,
      decodeBlocksPerSecond: chainBlocks / read.medianDecodeSeconds,
    },
    ...backfill,
  },
  earningsQuery: query && {
    rows: query.rows,
    loadSeconds: query.loadSeconds,
    targetP95Ms: 50,
    medianP50Ms: median(query.runs.map((r) => r.p50Ms)),
    medianP95Ms: median(query.runs.map((r) => r.p95Ms)),
    runs: query.runs,
  },
};
console.table(
  Object.entries(backfill).map(([backend, b]) => ({
    backend,
    blocks: chainBlocks,
    'blocks/s end to end (median)': b.medianBlocksPerSecond.toFixed(1),
    'settlements/s': b.medianSettlementsPerSecond.toFixed(0),
    'fetch s': read?.medianFetchSeconds.toFixed(2),
    'decode s': read?.medianDecodeSeconds.toFixed(2),
    'write s': b.writeOnly.medianSeconds.toFixed(2),
    'write-only blocks/s': b.writeOnly.medianBlocksPerSecond.toFixed(0),
    'vs SQD 58–76 blocks/s': `${(b.medianBlocksPerSecond / SQD.high).toFixed(2)}–${(b.medianBlocksPerSecond / SQD.low).toFixed(2)}×`,
  })),
);
if (result.earningsQuery) {
  console.table([
    {
      rows: result.earningsQuery.rows,
      'p50 ms': result.earningsQuery.medianP50Ms.toFixed(2),
      'p95 ms': result.earningsQuery.medianP95Ms.toFixed(2),
      'target p95 ms': 50,
    },
  ]);
}
writeFileSync(join(here, '..', 'results', 'indexer.json'), `${JSON.stringify(result, null, 2)}\n`);
