// `npm test`: lint + format check, type checks, then every workspace's Vitest suite.
// Ends with one plain line `N passed, N failed` (CI reads it); each static check counts as one test.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const resultsDir = join(root, '.test-results');
const vitestJson = join(resultsDir, 'vitest.json');
const unhandledJson = join(resultsDir, 'unhandled.json');
const extraArgs = process.argv.slice(2);

let passed = 0;
let failed = 0;
let skipped = 0;
const failures = [];

function check(label, cmd, args, opts = {}) {
  const t0 = Date.now();
  console.log(`\n=== ${label}: ${[cmd, ...args].join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  const ok = r.status === 0;
  console.log(
    `=== ${label}: ${ok ? 'ok' : `FAILED (exit ${r.status ?? r.signal})`} in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  if (ok) passed++;
  else {
    failed++;
    failures.push(label);
  }
}

if (extraArgs.length === 0) {
  check('lint', bin('biome'), ['check', '.']);
  check('typecheck', bin('tsc'), ['--noEmit', '-p', 'tsconfig.json']);
  check('svelte-check', 'npm', ['run', '--silent', 'check', '-w', '@persecond/dapp']);
}

mkdirSync(resultsDir, { recursive: true });
rmSync(vitestJson, { force: true });
rmSync(unhandledJson, { force: true });
console.log('\n=== vitest');
const v = spawnSync(
  bin('vitest'),
  [
    'run',
    '--reporter=default',
    '--reporter=json',
    '--reporter=./scripts/unhandledErrorsReporter.ts',
    `--outputFile.json=${vitestJson}`,
    ...extraArgs,
  ],
  { cwd: root, stdio: 'inherit' },
);
if (existsSync(vitestJson)) {
  const report = JSON.parse(readFileSync(vitestJson, 'utf8'));
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  skipped += report.numPendingTests + report.numTodoTests;
  // A suite that fails to load, or whose beforeAll fails (its tests then show as skipped), has no failed test but
  // must still fail the run and the count.
  const brokenFiles = report.testResults.filter(
    (f) => f.status === 'failed' && !f.assertionResults.some((a) => a.status === 'failed'),
  );
  failed += brokenFiles.length;
  for (const f of brokenFiles)
    failures.push(
      `${f.name}: ${f.message.split('\n')[0] || 'a hook failed, so its tests were skipped (see the log above)'}`,
    );
  for (const f of report.testResults)
    for (const a of f.assertionResults) if (a.status === 'failed') failures.push(a.fullName);
  if (report.numTotalTests === 0) {
    failed++;
    failures.push('vitest ran no test');
  }
  // Errors outside any test (an unhandled rejection, a worker that died) fail Vitest's run with every test passed:
  // count them, or the line below would say `0 failed` for a failing run.
  const unhandled = existsSync(unhandledJson) ? JSON.parse(readFileSync(unhandledJson, 'utf8')) : [];
  for (const e of unhandled)
    failures.push(
      `unhandled error${e.file ? ` in ${e.file}` : ''}${e.test ? ` (${e.test})` : ''}: ${e.message}${e.at ? ` ${e.at}` : ''}`,
    );
  if (v.status !== 0 && report.numFailedTests === 0 && brokenFiles.length === 0) {
    failed++;
    if (unhandled.length === 0) failures.push(`vitest exited ${v.status ?? v.signal} with every test passed`);
  }
} else {
  failed++;
  failures.push(`vitest produced no report (exit ${v.status ?? v.signal})`);
}

if (failures.length) console.log(`\nfailed:\n${failures.map((f) => `  - ${f}`).join('\n')}`);
console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed === 0 && v.status === 0 ? 0 : 1);
