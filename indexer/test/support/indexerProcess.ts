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
  readonly exited: Promise<number | null>;
}

/** Spawns `indexer <args>` with `env` on top of this process's environment minus DATABASE_URL; waits for ready. */
export async function spawnIndexer(env: Record<string, string>, args: string[] = []): Promise<IndexerProcess> {
  const { DATABASE_URL: _inherited, ...base } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', BIN, ...args], {
    env: { ...base, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => lines.push(line));
  let batches = 0;
  let stderr = '';
  createInterface({ input: child.stderr! }).on('line', (line) => {
    if (line.includes('"batch written"')) batches++;
    stderr = `${stderr}${line}\n`.slice(-4000);
  });
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      exitCode = code;
      resolve(code);
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
  return { child, url, lines, batches: () => batches, exited };
}
