// Indexer throughput and query latency.
// 1. Backfill: a Manual-mode dev chain filled with settlement blocks, indexed from block 0 into a fresh PGlite
//    directory and (with DATABASE_URL) a fresh PostgreSQL database: fetch + decode + write, blocks/s.
// 2. Earnings query: 1,000,000 settlement rows in PostgreSQL (DATABASE_URL), p95 of GET /v1/creators/:a/earnings.
// Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/test node --import tsx bench/indexer/run.ts
//        [--runs=3] [--blocks=40] [--perBlock=12] [--rows=1000000]
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, startDevChain } from '@persecond/contracts-client';
import pg from 'pg';
import { type BackfillRun, backfillOnce } from './backfill.ts';
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
const BLOCKS = opt.blocks ?? 40;
const PER_BLOCK = opt.perBlock ?? 12;
const ROWS = opt.rows ?? 1_000_000;
const pgUrl = process.env.DATABASE_URL;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

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
const backfill: Record<
  string,
  { runs: BackfillRun[]; medianBlocksPerSecond: number; medianSettlementsPerSecond: number }
> = {};
let query: Awaited<ReturnType<typeof earningsQueryLatency>> | undefined;
try {
  console.error(`building ${BLOCKS} blocks × ${PER_BLOCK} settlements…`);
  const settlements = await buildSettlementChain(client, BLOCKS, PER_BLOCK);
  for (const backend of pgUrl ? ['pglite', 'postgres'] : ['pglite']) {
    const runs: BackfillRun[] = [];
    for (let r = 0; r < RUNS; r++) {
      const scratch = backend === 'postgres' ? await scratchDatabase(pgUrl!) : undefined;
      try {
        runs.push(await backfillOnce(client, { databaseUrl: scratch?.url, batchSize: 100, settlements }));
      } finally {
        await scratch?.drop();
      }
      console.error(`${backend} run ${r + 1}: ${runs.at(-1)!.blocksPerSecond.toFixed(1)} blocks/s`);
    }
    backfill[backend] = {
      runs,
      medianBlocksPerSecond: median(runs.map((x) => x.blocksPerSecond)),
      medianSettlementsPerSecond: median(runs.map((x) => x.settlementsPerSecond)),
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

const result = {
  machine: { ...machine, loadavgAtEnd: loadavg().map((x) => Number(x.toFixed(2))) },
  backfill: {
    chain: `chopsticks Manual mode, ${BLOCKS} settlement blocks × ${PER_BLOCK} settlements + funding blocks`,
    batchSize: 100,
    anchor: 'SQD: 58–76 blocks/s syncing over RPC',
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
    'blocks/s (median)': b.medianBlocksPerSecond.toFixed(1),
    'settlements/s (median)': b.medianSettlementsPerSecond.toFixed(0),
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
