// `npm run bench [-- name…]`: runs the benchmarks one after another (all by default); each prints a table and
// writes bench/results/<name>.json. Run them on an otherwise idle machine: they measure CPU time.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** Benchmark name → script (relative to bench/). */
const BENCHES: Record<string, string> = {
  'contracts-client': 'contracts-client/bench.ts',
  sfu: 'sfu/consumers.ts',
  'sfu-hls-ladder': 'sfu/hlsLadder.ts',
  stage: 'stage/stage.ts',
  'signaling-meter': 'signaling/meter.ts',
  'signaling-ledger': 'signaling/ledger.ts',
  indexer: 'indexer/run.ts',
  signaling: 'signaling/ticking.ts',
  chat: 'signaling/chat.ts',
  replay: 'replay/replay.ts',
  'dapp-first-frame': 'dapp/firstFrame.ts',
  start: 'start/startup.ts',
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((n) => !(n in BENCHES));
if (unknown.length) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; known: ${Object.keys(BENCHES).join(', ')}`);
  process.exit(2);
}
let failed = 0;
for (const name of wanted.length ? wanted : Object.keys(BENCHES)) {
  const script = join(here, BENCHES[name]!);
  if (!existsSync(script)) {
    console.error(`${name}: ${script} does not exist`);
    failed++;
    continue;
  }
  console.log(`\n### ${name}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', script], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
