// A Vitest reporter that writes the run's unhandled errors (outside any test: a rejection nobody awaited, a worker
// that died) to .test-results/unhandled.json, so `npm test`'s closing summary can name them: the default reporter
// prints them far above the last lines, where a CI log's tail never reaches.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Reporter } from 'vitest/reporters';

type RunEnd = NonNullable<Reporter['onTestRunEnd']>;
type SerializedError = Parameters<RunEnd>[1][number];

/** The error's own words and where it came from, in a few lines. */
function summary(err: SerializedError): { message: string; file?: string; test?: string; at?: string } {
  const e = err as SerializedError & { VITEST_TEST_PATH?: string; VITEST_TEST_NAME?: string };
  const at = e.stack
    ?.split('\n')
    .slice(1)
    .map((l) => l.trim())
    .find((l) => l.startsWith('at ') && !l.includes('node:internal'));
  return { message: `${e.name ?? 'Error'}: ${e.message}`, file: e.VITEST_TEST_PATH, test: e.VITEST_TEST_NAME, at };
}

export default class UnhandledErrorsReporter implements Reporter {
  onTestRunEnd: RunEnd = (_modules, unhandledErrors) => {
    const dir = join(process.cwd(), '.test-results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'unhandled.json'), `${JSON.stringify(unhandledErrors.map(summary), null, 2)}\n`);
  };
}
