// `npm run bench -- start`: how long `npm start` takes from launch until every service answers healthy, on the
// embedded defaults (chopsticks dev chain, signaling with one mediasoup worker, indexer on PGlite, Vite dev server).
// The 60 s target is a speed target, so it is measured here on a quiet machine rather than asserted by a test.
// Usage: node --import tsx bench/start/startup.ts [--runs=3]
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { embeddedStartEnv } from '../../scripts/start/embeddedEnv.ts';
import { median } from '../stats.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const RESULTS_FILE = join(here, '..', 'results', 'start.json');
const TARGET_SECONDS = 60;
const runs = Number(process.argv.find((a) => a.startsWith('--runs='))?.split('=')[1] ?? 3);
const load = () => loadavg().map((x) => Number(x.toFixed(2)));

interface Run {
  /** What `npm start` reports: launch → every service's /healthz answered 200. */
  healthySeconds: number;
  /** Launch of the process → the stack-ready line, seen from outside (includes Node and tsx start). */
  wallSeconds: number;
}

/** One `npm start` on free ports and a fresh data directory, stopped with Ctrl-C once it is ready. */
async function once(): Promise<Run> {
  const dataDir = mkdtempSync(join(tmpdir(), 'persecond-bench-start-'));
  const t0 = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'start.ts')], {
    cwd: root,
    env: embeddedStartEnv(dataDir, { SFU_NUM_WORKERS: '1' }),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const ready = await new Promise<{ seconds: number }>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (line.startsWith('{"event":"stack-ready"')) resolve(JSON.parse(line) as { seconds: number });
      });
      void exited.then(() => reject(new Error('npm start exited before it was ready')));
    });
    return { healthySeconds: ready.seconds, wallSeconds: Number(((performance.now() - t0) / 1000).toFixed(1)) };
  } finally {
    child.kill('SIGINT');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const loadAtStart = load();
const results: Run[] = [];
for (let i = 0; i < runs; i++) {
  const run = await once();
  results.push(run);
  console.log(`run ${i + 1}/${runs}: healthy in ${run.healthySeconds} s (${run.wallSeconds} s from launch)`);
}
const value = median(results.map((r) => r.healthySeconds));
const result = {
  name: 'start',
  date: new Date().toISOString(),
  machine: {
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    node: process.version,
    loadAvgStart: loadAtStart,
    loadAvgEnd: load(),
  },
  method: {
    command:
      'node --import tsx scripts/start.ts (what `npm start` runs), free ports, a fresh data directory, embedded defaults (no DATABASE_URL/REDIS_URL), one mediasoup worker',
    measure:
      "npm start's own stack-ready report: launch → every service's /healthz answered 200; stopped with SIGINT between runs",
    runs,
    statistic: 'median',
  },
  runs: results,
  targets: { startSeconds: { target: TARGET_SECONDS, value, pass: value < TARGET_SECONDS } },
};
mkdirSync(dirname(RESULTS_FILE), { recursive: true });
writeFileSync(RESULTS_FILE, `${JSON.stringify(result, null, 2)}\n`);
console.table(results);
console.log(
  `npm start healthy in ${value} s (median of ${runs}; target < ${TARGET_SECONDS} s: ${value < TARGET_SECONDS ? 'pass' : 'FAIL'})`,
);
console.log(`wrote ${RESULTS_FILE}`);
