// Indexer throughput and query latency (issue 16).
// 0. The chain: a Manual-mode dev chain (chopsticks, real Asset Hub runtime) of `--blocks` blocks with `--perBlock`
//    settlements each, built once and kept in chopsticks' sqlite database under .data/bench-indexer/ (cachedChain.ts);
//    served from a child process of its own so its RPC work does not share the indexer's event loop.
// 1. RPC ceiling: the follower's raw reads of every block (one chain_getBlockHash per chunk, chain_getBlock and
//    state_getStorage(System.Events) per block), no decoding or writing, swept over the chunks in flight; the best
//    concurrency is then run `--runs` times. The decoding of those blocks is timed apart.
// 2. End to end: the real Follower from block 0 to the head into a fresh PGlite directory and (with DATABASE_URL) a
//    fresh PostgreSQL database, at the best read window; every settlement and its planck checked. Written alone too.
// 3. Earnings query: 1,000,000 settlement rows in PostgreSQL (DATABASE_URL), p95 of the creator earnings query.
// Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/test node --import tsx bench/indexer/run.ts
//        [--runs=3] [--blocks=2000] [--perBlock=8] [--pad=0] [--batch=200] [--chunk=25]
//        [--concurrency=1,2,4,8,16] [--rows=1000000]
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '@persecond/contracts-client';
import pg from 'pg';
import { median } from '../stats.ts';
import { type BackfillRun, backfillOnce } from './backfill.ts';
import { spawnCachedChain } from './cachedChain.ts';
import { type CeilingRun, decodeOnce, readRawOnce } from './ceiling.ts';
import { earningsQueryLatency } from './earningsQuery.ts';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const num = (name: string, fallback: number) => Number(arg(name) ?? fallback);
const RUNS = num('runs', 3);
const BLOCKS = num('blocks', 2000);
const PER_BLOCK = num('perBlock', 8);
const PAD = num('pad', 0);
const BATCH = num('batch', 200);
const CHUNK = num('chunk', 25);
const CONCURRENCIES = (arg('concurrency') ?? '1,2,4,8,16').split(',').map(Number);
const ROWS = num('rows', 1_000_000);
const pgUrl = process.env.DATABASE_URL;
/** Issue 16's figures before this work (fresh idle machine, 200 blocks × 8 settlements, PGlite). */
const STARTING = { endToEndPgliteBlocksPerSecond: 71.6, sequentialFetchBlocksPerSecond: 88 };
const load = () => loadavg().map((x) => Number(x.toFixed(2)));

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

const startedAt = new Date();
const loadAtStart = load();
const chain = await spawnCachedChain({ blocks: BLOCKS, perBlock: PER_BLOCK, pad: PAD });
const client = await connect(chain.wsUrl, { ss58: 42, timeoutMs: 300_000 });
const sweep: CeilingRun[] = [];
const ceilingRuns: CeilingRun[] = [];
const decodeSeconds: number[] = [];
let decodeStats: { lean: number; fallback: number } | undefined;
const backfill: Record<string, { runs: BackfillRun[] }> = {};
let query: Awaited<ReturnType<typeof earningsQueryLatency>> | undefined;
let head = 0;
let truth = { settlements: 0, planck: 0n, blocksWithSettlements: 0 };
let best: CeilingRun | undefined;
try {
  head = (await client.api.rpc.chain.getHeader()).number.toNumber();
  console.error(`chain: ${head + 1} blocks (${JSON.stringify(chain.layout)})`);
  for (const concurrency of CONCURRENCIES) {
    const run = await readRawOnce(client, head, { chunkSize: CHUNK, concurrency });
    sweep.push({ ...run, raws: undefined } as CeilingRun);
    console.error(`ceiling sweep: ${CHUNK} × ${concurrency} in flight: ${run.blocksPerSecond.toFixed(0)} blocks/s`);
  }
  const top = sweep.reduce((a, b) => (b.blocksPerSecond > a.blocksPerSecond ? b : a));
  for (let r = 0; r < RUNS; r++) {
    const { raws, ...run } = await readRawOnce(client, head, { chunkSize: CHUNK, concurrency: top.concurrency });
    ceilingRuns.push(run);
    const decoded = await decodeOnce(client, raws, CHUNK);
    decodeSeconds.push(decoded.seconds);
    decodeStats = decoded.stats;
    const settlements = decoded.blocks.flatMap((b) => b.events.filter((e) => e.type === 'settlement'));
    const found = {
      settlements: settlements.length,
      planck: settlements.reduce((n, e) => n + (e.type === 'settlement' ? e.amount : 0n), 0n),
      blocksWithSettlements: decoded.blocks.filter((b) => b.events.some((e) => e.type === 'settlement')).length,
    };
    if (r === 0) truth = found;
    else if (found.settlements !== truth.settlements) throw new Error('decoded settlements differ between runs');
    console.error(
      `ceiling run ${r + 1}: ${run.blocksPerSecond.toFixed(0)} blocks/s; decode ${decoded.seconds.toFixed(2)} s`,
    );
  }
  if (truth.settlements !== chain.layout.settlementsSubmitted) {
    throw new Error(`the chain holds ${truth.settlements} settlements, ${chain.layout.settlementsSubmitted} submitted`);
  }
  best = { ...top, blocksPerSecond: median(ceilingRuns.map((r) => r.blocksPerSecond)) };
  const read = { chunkSize: CHUNK, concurrency: top.concurrency };
  for (const backend of pgUrl ? ['pglite', 'postgres'] : ['pglite']) {
    const result = { runs: [] as BackfillRun[] };
    backfill[backend] = result;
    for (let r = 0; r < RUNS; r++) {
      const scratch = backend === 'postgres' ? await scratchDatabase(pgUrl!) : undefined;
      try {
        const target = {
          databaseUrl: scratch?.url,
          from: chain.layout.startHead + 1,
          batchSize: BATCH,
          read,
          ...truth,
        };
        result.runs.push({ ...(await backfillOnce(client, target)), loadavg: load() });
      } finally {
        await scratch?.drop();
      }
      console.error(`${backend} run ${r + 1}: ${result.runs.at(-1)!.blocksPerSecond.toFixed(0)} blocks/s end to end`);
    }
  }
  if (pgUrl && ROWS > 0) {
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

const ceiling = best!.blocksPerSecond;
const endToEnd = Object.fromEntries(
  Object.entries(backfill).map(([backend, b]) => {
    const blocksPerSecond = median(b.runs.map((x) => x.blocksPerSecond));
    return [
      backend,
      {
        runs: b.runs,
        medianBlocksPerSecond: blocksPerSecond,
        medianSettlementsPerSecond: median(b.runs.map((x) => x.settlementsPerSecond)),
        shareOfCeiling: blocksPerSecond / ceiling,
      },
    ];
  }),
);
const queryP95 = query && median(query.runs.map((r) => r.p95Ms));
const targets: Record<string, { target: string; value: number; pass: boolean }> = {};
for (const [backend, e] of Object.entries(endToEnd)) {
  targets[`${backend}BlocksPerSecond`] = {
    target: `≥ 500 blocks/s end to end on ${backend} (median of ${RUNS})`,
    value: Number(e.medianBlocksPerSecond.toFixed(1)),
    pass: e.medianBlocksPerSecond >= 500,
  };
  targets[`${backend}ShareOfCeiling`] = {
    target: `end to end on ${backend} ≥ 80 % of the measured RPC ceiling`,
    value: Number(e.shareOfCeiling.toFixed(3)),
    pass: e.shareOfCeiling >= 0.8,
  };
}
if (queryP95 !== undefined) {
  targets.earningsQueryP95 = {
    target: 'p95 earnings query < 50 ms at 1,000,000 rows',
    value: queryP95,
    pass: queryP95 < 50,
  };
}
const { layout } = chain;
const result = {
  name: 'indexer',
  date: startedAt.toISOString(),
  machine: {
    cpus: availableParallelism(),
    model: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    loadavgAtStart: loadAtStart,
    loadavgAtEnd: load(),
    note:
      'shared 2-core machine: other sessions run tests and builds meanwhile, so every figure is under that load; ' +
      'each end-to-end run records the load average at its end (loadavg)',
  },
  chain: {
    shape:
      `chopsticks Manual mode (real Asset Hub runtime): genesis setup, ${layout.fundingBlocks} funding blocks, then ` +
      `${layout.settlementBlocks} blocks of ${layout.perBlock} settlement transactions each (${layout.perBlock} session ` +
      `accounts, one utility.batchAll(transferKeepAlive + ps1:pay remark) each, paying Alice, Bob or Charlie)` +
      (layout.emptyBlocks > 0 ? `, then ${layout.emptyBlocks} empty blocks` : ''),
    blocks: head + 1,
    blocksWithSettlements: truth.blocksWithSettlements,
    settlements: truth.settlements,
    settlementPlanck: truth.planck.toString(),
    buildSeconds: layout.buildSeconds,
    cache: '.data/bench-indexer/ (chopsticks sqlite db; built once, resumed by every run)',
    served: 'by a child process of its own over one local WebSocket',
  },
  method: {
    ceiling:
      `raw reads of blocks 0..head as the follower issues them: per chunk of ${CHUNK} blocks one chain_getBlockHash ` +
      'with the list of numbers, per block chain_getBlock and state_getStorage(System.Events) at its hash, no ' +
      `decoding or writing; swept over ${CONCURRENCIES.join('/')} chunks in flight, the best run ${RUNS} times (median)`,
    decode:
      'the ceiling run’s raw blocks decoded as the follower does (spec version per chunk, registry per version, ' +
      'events and only the remarked extrinsics + the timestamp inherent), timed apart',
    endToEnd:
      `the real Follower from the first block the bench built (block ${chain.layout.startHead + 1}: on a resumed chopsticks chain its setup block ${chain.layout.startHead} does not link up) to the head into a fresh database (PGlite directory on disk; PostgreSQL scratch ` +
      `database), read window ${CHUNK} × best concurrency, ${BATCH} blocks per write transaction, every block final ` +
      `(rows inserted final); median of ${RUNS}; each run checks the settlement count and planck sum equal the chain's`,
    earningsQuery:
      'bench/indexer/earningsQuery.ts: 1,000 creators × 1,000 settlements in PostgreSQL, 200 queries a run',
  },
  startingFigure: STARTING,
  ceiling: {
    sweep,
    best: { chunkSize: CHUNK, concurrency: best!.concurrency },
    runs: ceilingRuns,
    medianBlocksPerSecond: ceiling,
    medianDecodeSeconds: median(decodeSeconds),
    decodeBlocksPerSecond: (head + 1) / median(decodeSeconds),
    /** Event-record blobs and extrinsics read by the lean decoder, and by polkadot-js where it declined (one run). */
    decodeStats,
  },
  endToEnd,
  earningsQuery: query && { rows: query.rows, loadSeconds: query.loadSeconds, medianP95Ms: queryP95, runs: query.runs },
  targets,
};
console.table([
  {
    step: 'start (issue 16)',
    'blocks/s': STARTING.endToEndPgliteBlocksPerSecond,
    note: 'PGlite end to end, 200 blocks',
  },
  { step: 'RPC ceiling', 'blocks/s': ceiling.toFixed(0), note: `${CHUNK} × ${best!.concurrency} in flight` },
  { step: 'decode alone', 'blocks/s': result.ceiling.decodeBlocksPerSecond.toFixed(0), note: '' },
  ...Object.entries(endToEnd).map(([backend, e]) => ({
    step: `end to end ${backend}`,
    'blocks/s': e.medianBlocksPerSecond.toFixed(0),
    note: `${(e.shareOfCeiling * 100).toFixed(0)} % of ceiling, ${e.medianSettlementsPerSecond.toFixed(0)} settlements/s`,
  })),
]);
console.table(Object.entries(targets).map(([name, t]) => ({ name, ...t })));
writeFileSync(join(here, '..', 'results', 'indexer.json'), `${JSON.stringify(result, null, 2)}\n`);
