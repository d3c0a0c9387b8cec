// Starts the dapp's Vite dev server as `npm start` does (`vite dev --host 127.0.0.1 --port <p> --strictPort`).
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../../signaling/test/support/freePort.ts';
import { ownKitOutDir } from './kitOutDir.ts';

const dappDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const viteBin = join(dappDir, '..', 'node_modules', 'vite', 'bin', 'vite.js');

/** A running dapp dev server. */
export interface DappServer {
  url: string;
  /** Stops the server and everything it spawned; safe to call twice. */
  close(): Promise<void>;
}

export { freePort };

async function waitForHealthy(
  url: string,
  child: ChildProcess,
  output: () => string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`dapp dev server exited (${child.exitCode}):\n${output()}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`dapp dev server did not become healthy within ${timeoutMs} ms:\n${output()}`);
}

/** Starts the dev server with the given public env on a free loopback port and waits for /healthz. */
export async function startDappDevServer(env: Record<string, string> = {}, timeoutMs = 30_000): Promise<DappServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let log = '';
  const outDir = ownKitOutDir();
  const child = spawn(
    process.execPath,
    [viteBin, 'dev', '--host', '127.0.0.1', '--port', String(port), '--strictPort'],
    {
      cwd: dappDir,
      env: { ...process.env, ...outDir.env, ...env, FORCE_COLOR: '0', BROWSER: 'none' },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so esbuild and any other helper Vite spawns stop with it.
      detached: true,
    },
  );
  child.stdout?.on('data', (d: Buffer) => {
    log += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    log += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      if (child.exitCode === null && child.signalCode === null && child.pid) {
        process.kill(-child.pid, 'SIGTERM');
        const killer = setTimeout(() => child.pid && process.kill(-child.pid, 'SIGKILL'), 5_000);
        await exited;
        clearTimeout(killer);
      }
      outDir.remove();
    })();
    return closing;
  };
  try {
    await waitForHealthy(url, child, () => log, timeoutMs);
  } catch (err) {
    await close();
    throw err;
  }
  return { url, close };
}
