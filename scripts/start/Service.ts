import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const GUARD = join(dirname(fileURLToPath(import.meta.url)), 'guard.mjs');

/** How to run one part of the stack as a child process. */
export interface ServiceSpec {
  name: string;
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The child prints a JSON line with `"event":"ready"` on stdout; without it, readiness is a health poll only. */
  readyLine: boolean;
}

const COLORS = ['\x1b[36m', '\x1b[35m', '\x1b[33m', '\x1b[32m', '\x1b[34m'];
let nextColor = 0;
const PINO_LEVELS: Record<number, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

/** Renders a pino JSON line as `level msg key=value…`; other lines pass through. */
function formatLogLine(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const {
      level,
      msg,
      time: _t,
      pid: _p,
      hostname: _h,
      name: _n,
      err,
      ...rest
    } = JSON.parse(line) as Record<string, unknown>;
    const extra = Object.entries(rest)
      .filter(([, v]) => v !== undefined && typeof v !== 'object')
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(' ');
    const error = err && typeof err === 'object' ? ` (${String((err as { message?: unknown }).message)})` : '';
    return `${PINO_LEVELS[level as number] ?? level} ${String(msg ?? '')}${error}${extra ? ` ${extra}` : ''}`;
  } catch {
    return line;
  }
}

/**
 * A child process in its own process group, so that stopping it also stops what it started
 * (mediasoup workers, ffmpeg, vite's esbuild) and nothing is orphaned.
 */
export class Service {
  readonly child: ChildProcess;
  readonly ready: Promise<Record<string, unknown>>;
  readonly exited: Promise<number | null>;
  private readonly prefix: string;

  constructor(readonly spec: ServiceSpec) {
    this.prefix = `${COLORS[nextColor++ % COLORS.length]}${spec.name.padEnd(9)}\x1b[0m|`;
    // Through guard.mjs, which stops the service when our stdin pipe to it closes (we exited or were killed).
    this.child = spawn(process.execPath, [GUARD, spec.command, ...spec.args], {
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve(signal ? null : code)));
    const stdout = createInterface({ input: this.child.stdout! });
    createInterface({ input: this.child.stderr! }).on('line', (l) => this.print(l));
    this.ready = new Promise((resolve, reject) => {
      if (!spec.readyLine) resolve({});
      stdout.on('line', (line) => {
        if (line.startsWith('{"event":"ready"')) resolve(JSON.parse(line) as Record<string, unknown>);
        else this.print(line);
      });
      void this.exited.then((code) =>
        reject(new Error(`${spec.name} exited (${code ?? 'signal'}) before it was ready`)),
      );
    });
    this.ready.catch(() => undefined);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  private print(line: string): void {
    if (line.trim()) console.log(`${this.prefix} ${formatLogLine(line)}`);
  }

  /** SIGTERM to the whole process group, SIGKILL after `graceMs`; resolves once the leader has exited. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) {
      this.killGroup('SIGKILL');
      return;
    }
    this.killGroup('SIGTERM');
    const timer = setTimeout(() => this.killGroup('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
    // Anything the leader left behind in its group goes too.
    this.killGroup('SIGKILL');
  }

  private killGroup(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, signal);
    } catch {
      // The group is already gone.
    }
  }
}
