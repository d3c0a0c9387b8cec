// A signaling node as its own OS process (the real bin, as `npm start` runs it), for the tests that stop it cleanly
// (SIGTERM to the bin: it closes its rooms, recordings and sessions) or kill it with everything it started (SIGKILL to
// its process group: mediasoup workers, the HLS edge, ffmpeg).
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** A running signaling process. */
export class NodeProcess {
  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
    /** What it wrote on stderr (its log), for failure messages. */
    readonly log: string[],
  ) {}

  /** Starts the bin in its own process group and waits for its `ready` line (at most 180 s). */
  static async start(env: NodeJS.ProcessEnv): Promise<NodeProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'signaling/src/bin/server.ts')], {
      cwd: ROOT,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const log: string[] = [];
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) => log.push(line));
    let url: string;
    try {
      url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ready line in 180 s:\n${log.join('\n')}`)), 180_000);
        createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
          try {
            const msg = JSON.parse(line) as { event?: string; url?: string };
            if (msg.event === 'ready' && msg.url) {
              clearTimeout(timer);
              resolve(msg.url);
            }
          } catch {
            // Not the ready line.
          }
        });
        child.once('exit', (code, signal) => {
          clearTimeout(timer);
          reject(new Error(`signaling exited (${code ?? signal}) before ready:\n${log.join('\n')}`));
        });
      });
    } catch (err) {
      killGroup(child, 'SIGKILL');
      throw err;
    }
    return new NodeProcess(child, url, log);
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** SIGTERM to the bin alone, as an operator's stop: resolves with its exit code once it exited. */
  async stop(): Promise<number | null> {
    if (this.exited) return this.child.exitCode;
    const exited = new Promise<number | null>((resolve) => this.child.once('exit', (code) => resolve(code)));
    this.child.kill('SIGTERM');
    const code = await exited;
    // Whatever it left behind (nothing, when its shutdown is right) goes with its group.
    killGroup(this.child, 'SIGKILL');
    return code;
  }

  /** SIGKILL to the whole process group (a crash of the machine's node: nothing runs its shutdown). */
  async kill(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    killGroup(this.child, 'SIGKILL');
    await exited;
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-(child.pid as number), signal);
  } catch {
    // Already gone.
  }
}
