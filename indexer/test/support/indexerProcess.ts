import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { waitFor } from './http.ts';

const BIN = join(import.meta.dirname, '..', '..', 'src', 'bin', 'indexer.ts');

/** The indexer CLI running as a real child process. */
export interface IndexerProcess {
  readonly child: ChildProcess;
  readonly url: string;
  /** stdout lines so far. */
  readonly lines: string[];
  /** Number of `batch written` log lines so far (needs LOG_LEVEL=debug). */
  batches(): number;
  /** The last block of the last `batch written` line so far, or -1 (needs LOG_LEVEL=debug). */
  lastWritten(): number;
  /** Resolves with the exit code once the process has exited and its output has been read to the end. */
  readonly exited: Promise<number | null>;
}

/**
 * Spawns `indexer <args>` with `env` on top of this process's environment minus DATABASE_URL; waits for ready.
 * `killAfterBatches`: SIGKILL the moment that many `batch written` lines have been read (needs LOG_LEVEL=debug).
 */
export async function spawnIndexer(
  env: Record<string, string>,
  args: string[] = [],
  { killAfterBatches }: { killAfterBatches?: number } = {},
): Promise<IndexerProcess> {
  const { DATABASE_URL: _inherited, ...base } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', BIN, ...args], {
    env: { ...base, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => lines.push(line));
  let batches = 0;
  let lastWritten = -1;
  let stderr = '';
  const stderrLines = createInterface({ input: child.stderr! });
  stderrLines.on('line', (line) => {
    if (line.includes('"batch written"')) {
      batches++;
      lastWritten = Math.max(lastWritten, (JSON.parse(line) as { to: number }).to);
      // Killed from the line handler, not from a poll: the backfill writes a batch every few milliseconds.
      if (batches === killAfterBatches) child.kill('SIGKILL');
    }
    stderr = `${stderr}${line}\n`.slice(-4000);
  });
  const stderrRead = new Promise<void>((resolve) => stderrLines.on('close', resolve));
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      exitCode = code;
      void stderrRead.then(() => resolve(code));
    }),
  );
  const ready = await waitFor(
    async () => {
      if (exitCode !== undefined) throw new Error(`indexer exited with ${exitCode} before ready: ${stderr}`);
      return lines[0];
    },
    'ready line',
    90_000,
  );
  const { url } = JSON.parse(ready) as { url: string };
  return { child, url, lines, batches: () => batches, lastWritten: () => lastWritten, exited };
}
