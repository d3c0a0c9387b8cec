// A private Redis server for fault tests: its own redis-server on a free loopback port, with its data in a temporary
// folder and the deployment's persistence (append-only file, as docker-compose.yml runs it), that a test can SIGKILL,
// freeze (SIGSTOP) and start again — never the machine's own service.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { freePort } from '../support/freePort.ts';

/** A running (or killed, or frozen) private Redis server. */
export interface RedisServer {
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** PID of the running server (undefined while stopped). */
  readonly pid: number | undefined;
  /** Whether it is stopped by SIGSTOP (and not thawed yet). */
  readonly frozen: boolean;
  /** SIGKILLs the server (a crash, not a shutdown); resolves once it is gone. */
  kill(): Promise<void>;
  /** SIGSTOPs the server: connections stay open, nothing is answered. */
  freeze(): void;
  /** SIGCONTs a frozen server. */
  thaw(): void;
  /** Starts the server again on the same data and port; resolves once it answers PING (its data loaded). */
  start(): Promise<void>;
  /** Kills what still runs and removes the folder; safe to call twice. */
  close(): Promise<void>;
}

/** Resolves once the server at `url` answers PING (a loading server answers LOADING), or rejects after `ms`. */
async function waitAnswering(url: string, child: ChildProcess, log: string[], ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`redis-server exited (${child.exitCode ?? child.signalCode}):\n${log.join('')}`);
    }
    const client = createClient({ url, socket: { reconnectStrategy: false, connectTimeout: 1_000 } });
    client.on('error', () => undefined);
    try {
      await client.connect();
      if ((await client.ping()) === 'PONG') return;
    } catch {
      // Not listening or still loading.
    } finally {
      if (client.isOpen) client.destroy();
    }
    if (Date.now() > deadline) throw new Error(`redis-server not answering after ${ms} ms:\n${log.join('')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts redis-server in a new temporary folder on a free loopback port. */
export async function startRedisServer(): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'persecond-redis-'));
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let closed: Promise<void> | undefined;
  let frozen = false;

  const start = async (): Promise<void> => {
    const log: string[] = [];
    // Loopback only, no config file: nothing of the machine's Redis is read or touched. AOF as in the deployment;
    // no RDB snapshots (a snapshot child would outlive a SIGKILL of its parent).
    const started = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--appendonly',
        'yes',
        '--save',
        '',
        '--daemonize',
        'no',
        '--protected-mode',
        'yes',
        '--loglevel',
        'warning',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    started.stdout?.on('data', (d: Buffer) => log.push(d.toString()));
    started.stderr?.on('data', (d: Buffer) => log.push(d.toString()));
    child = started;
    await waitAnswering(url, started, log);
  };
  const kill = async (): Promise<void> => {
    const running = child;
    child = undefined;
    frozen = false;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    // A frozen process still dies of SIGKILL.
    running.kill('SIGKILL');
    await exited;
  };
  const signal = (sig: NodeJS.Signals) => {
    if (!child?.pid) throw new Error('redis-server is not running');
    process.kill(child.pid, sig);
  };

  try {
    await start();
  } catch (err) {
    await kill();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url,
    port,
    get pid() {
      return child?.pid;
    },
    get frozen() {
      return frozen;
    },
    kill,
    freeze: () => {
      signal('SIGSTOP');
      frozen = true;
    },
    thaw: () => {
      signal('SIGCONT');
      frozen = false;
    },
    start,
    close() {
      closed ??= (async () => {
        await kill();
        rmSync(dir, { recursive: true, force: true });
      })();
      return closed;
    },
  };
}
