// The whole stack started exactly as `npm start` starts it (scripts/start.ts), on free ports and its own data dir.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { embeddedStartEnv } from '../../../scripts/start/embeddedEnv.ts';
import { ownKitOutDir } from './kitOutDir.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const StackReadyLine = z.object({
  event: z.literal('stack-ready'),
  seconds: z.number(),
  dapp: z.string(),
  signaling: z.string(),
  indexer: z.string(),
  chain: z.string(),
  pids: z.array(z.number()),
});

/** A running `npm start`: its URLs and a way to stop it. */
export interface Stack {
  dapp: string;
  signaling: string;
  indexer: string;
  chain: string;
  /** Seconds `npm start` needed until every service was healthy. */
  seconds: number;
  /** Everything the stack printed so far (for failure messages). */
  output(): string;
  /** Ctrl-C (SIGINT), SIGKILL to its process group after `graceMs`; removes the data dir. Safe to call twice. */
  close(graceMs?: number): Promise<void>;
}

/** Options: extra environment for every service (e.g. `SFU_CONSUMERS_PER_WORKER`), and how long to wait. */
export interface StackOptions {
  env?: Record<string, string>;
  readyTimeoutMs?: number;
}

/** Spawns `node --import tsx scripts/start.ts` with ports 0 and waits for its `stack-ready` line. */
export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  // While working on a test: reuse a stack already running (its stack-ready line), which is left running.
  const reuse = process.env.PERSECOND_TEST_STACK;
  if (reuse) {
    const { dapp, signaling, indexer, chain, seconds } = StackReadyLine.parse(JSON.parse(reuse));
    return { dapp, signaling, indexer, chain, seconds, output: () => '', close: async () => undefined };
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'persecond-stack-'));
  const outDir = ownKitOutDir();
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'start.ts')], {
    cwd: root,
    // The embedded defaults, as `npm start` runs on a fresh machine.
    env: embeddedStartEnv(dataDir, { ...outDir.env, ...opts.env }),
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: a SIGKILL after the grace period reaches whatever it left behind.
    detached: true,
  });
  const lines: string[] = [];
  const output = () => lines.join('\n');
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<z.infer<typeof StackReadyLine>>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      if (line.startsWith('{"event":"stack-ready"')) resolve(StackReadyLine.parse(JSON.parse(line)));
    });
    createInterface({ input: child.stderr }).on('line', (line) => lines.push(line));
    void exited.then((code) => reject(new Error(`npm start exited early (${code}):\n${output()}`)));
  });

  let closing: Promise<void> | undefined;
  const close = (graceMs = 30_000): Promise<void> => {
    closing ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT');
        const killer = setTimeout(() => killGroup(child.pid), graceMs);
        await exited;
        clearTimeout(killer);
      }
      // The services run in their own groups under a guard that stops them once start.ts is gone.
      killGroup(child.pid);
      rmSync(dataDir, { recursive: true, force: true });
      outDir.remove();
    })();
    return closing;
  };

  const timeoutMs = opts.readyTimeoutMs ?? 300_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const info = await Promise.race([
      ready,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`npm start was not ready within ${timeoutMs} ms:\n${output()}`)),
          timeoutMs,
        );
      }),
    ]);
    const { dapp, signaling, indexer, chain, seconds } = info;
    return { dapp, signaling, indexer, chain, seconds, output, close };
  } catch (err) {
    await close(5_000);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

function killGroup(pid: number | undefined): void {
  if (!pid) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // The group is already gone.
  }
}
