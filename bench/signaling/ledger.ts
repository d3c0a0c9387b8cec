// Cost of persisting one meter round in the signaling ledger: N sessions' ticks written in one recordTicks statement,
// as the meter's afterRound does every second. Embedded PGlite (on disk, in this process: its CPU is ours), and
// PostgreSQL too when DATABASE_URL is set (a scratch database, dropped after; server CPU not counted).
// Usage: node --import tsx bench/signaling/ledger.ts [--runs=7] [--max=10000]
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cryptoWaitReady, encodeAddress } from '@polkadot/util-crypto';
import pg from 'pg';
import type { LedgerConfig } from '../../signaling/src/ledger/config.ts';
import { Ledger } from '../../signaling/src/ledger/Ledger.ts';
import { median } from '../stats.ts';

const here = dirname(fileURLToPath(import.meta.url));
const resultsFile = join(here, '..', 'results', 'signaling-ledger.json');
const opt = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=');
    return [k, Number(v)];
  }),
) as Record<string, number | undefined>;
const RUNS = opt.runs ?? 7;
const MAX = opt.max ?? 10_000;
const LEVELS = [1_000, 5_000, 10_000].filter((n) => n <= MAX);

const round2 = (x: number) => Math.round(x * 100) / 100;

async function scratchPostgres(baseUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `persecond_ledger_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: baseUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

async function benchBackend(name: string, config: LedgerConfig) {
  const ledger = await Ledger.open(config);
  const rows = [];
  try {
    const wallet = encodeAddress(new Uint8Array(32).fill(1), 42);
    const creator = encodeAddress(new Uint8Array(32).fill(2), 42);
    const ids: string[] = [];
    let seq = 0;
    for (const sessions of LEVELS) {
      while (ids.length < sessions) {
        const sessionId = `sess-bench-${ids.length}`;
        await ledger.openSession({
          sessionId,
          streamId: 'stream-bench-1',
          wallet,
          sessionAccount: encodeAddress(new Uint8Array(32).fill(3 + (ids.length % 200)), 42),
          creator,
          asset: 'native',
          pricePerSecond: 1_000_003n,
          budget: 10n ** 15n,
        });
        ids.push(sessionId);
      }
      const wall: number[] = [];
      const cpu: number[] = [];
      for (let run = 0; run <= RUNS; run++) {
        seq++;
        const batch = ids.map((sessionId) => ({ sessionId, seq, watchedSeconds: seq, owed: BigInt(seq) * 1_000_003n }));
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const recorded = await ledger.recordTicks(batch);
        const t1 = performance.now();
        const c1 = process.cpuUsage(c0);
        if (recorded.size !== sessions) throw new Error(`recorded ${recorded.size} of ${sessions}`);
        if (run === 0) continue; // warm-up
        wall.push(t1 - t0);
        cpu.push((c1.user + c1.system) / 1000);
      }
      const wallMs = median(wall);
      const cpuMs = median(cpu);
      rows.push({
        backend: name,
        sessions,
        wallMsPerRoundRuns: wall.map(round2),
        wallMsPerRoundMedian: round2(wallMs),
        processCpuMsPerRoundMedian: round2(cpuMs),
        wallMsPer1000Ticks: round2(wallMs / (sessions / 1000)),
        roundShareOfSecondPercent: round2((wallMs / 1000) * 100),
        loadAvg1m: round2(loadavg()[0] ?? 0),
      });
    }
  } finally {
    await ledger.close();
  }
  return rows;
}

await cryptoWaitReady();
const results = [];
const dir = mkdtempSync(join(tmpdir(), 'persecond-ledger-bench-'));
try {
  results.push(...(await benchBackend('pglite', { dataDir: dir })));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
if (process.env.DATABASE_URL) {
  const db = await scratchPostgres(process.env.DATABASE_URL);
  try {
    results.push(...(await benchBackend('postgres', { databaseUrl: db.url, maxConnections: 2 })));
  } finally {
    await db.drop();
  }
}

console.table(
  results.map((r) => ({
    backend: r.backend,
    sessions: r.sessions,
    'wall ms/round (median)': r.wallMsPerRoundMedian,
    'process CPU ms/round': r.processCpuMsPerRoundMedian,
    'wall ms per 1k ticks': r.wallMsPer1000Ticks,
    '% of the 1 s round': r.roundShareOfSecondPercent,
  })),
);
writeFileSync(
  resultsFile,
  `${JSON.stringify(
    {
      name: 'signaling-ledger',
      date: new Date().toISOString(),
      machine: {
        cpu: cpus()[0]?.model,
        cores: cpus().length,
        node: process.version,
        note: 'shared 2-core VM; other engineers’ workloads run concurrently, so figures are upper bounds',
      },
      method: {
        round: 'Ledger.recordTicks of one tick per session (one UPDATE … FROM jsonb_to_recordset statement)',
        measure: `wall time and this process's CPU per round, median of ${RUNS} rounds after 1 warm-up`,
        pglite: 'embedded, on disk in a temp dir, running in this process',
        postgres: 'PostgreSQL 15 on 127.0.0.1 when DATABASE_URL is set (server CPU not included)',
      },
      levels: results,
    },
    null,
    2,
  )}\n`,
);
console.log(`wrote ${resultsFile}`);
