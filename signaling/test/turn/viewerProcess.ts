// The test's side of blockedViewer.ts: spawns it as the blocked uid, feeds it its setup and commands, and keeps what
// it reports (ticks, server events, stats).
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Tick } from '../../src/index.ts';
import type { SelectedPair, ViewerSetup } from './blockedViewer.ts';
import type { BlockedUser } from './udpBlock.ts';

const root = join(import.meta.dirname, '..', '..', '..');

/** What the child reported with `stats`. */
export interface ViewerStats {
  frames: { video: number; audio: number };
  pair: SelectedPair | null;
  connectionState: string;
}

/** A viewer process under the blocked uid. */
export class ViewerProcess {
  readonly ticks: Tick[] = [];
  /** Server events it saw besides ticks (`tick:refused`, `payment:required`, …). */
  readonly serverEvents: { name: string; payload: unknown }[] = [];
  readonly lines: Record<string, unknown>[] = [];
  readonly stderr: string[] = [];
  /** The session it joined with. */
  readonly sessionId: string;
  readonly #child: ChildProcess;
  readonly #exited: Promise<number | null>;

  constructor(
    user: BlockedUser,
    setup: ViewerSetup,
    readonly name: string,
  ) {
    this.sessionId = setup.session.sessionId;
    this.#child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'blockedViewer.ts')], {
      cwd: root,
      uid: user.uid,
      gid: user.uid,
      env: user.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.#exited = new Promise((resolve) => this.#child.once('exit', (code) => resolve(code)));
    createInterface({ input: this.#child.stdout! }).on('line', (line) => {
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        this.stderr.push(line);
        return;
      }
      this.lines.push(msg);
      if (msg.event === 'tick') this.ticks.push(msg.tick as Tick);
      if (msg.event === 'server') this.serverEvents.push({ name: msg.name as string, payload: msg.payload });
    });
    createInterface({ input: this.#child.stderr! }).on('line', (line) => this.stderr.push(line));
    // A child that died early shows in `line()`; its closed pipe must not throw here.
    this.#child.stdin!.on('error', () => undefined);
    this.#child.stdin!.write(`${JSON.stringify(setup)}\n`);
  }

  /** The first line reporting `event` (from the `from`th line on), waited for; fails at once if the child failed. */
  async line(event: string, from = 0, timeoutMs = 60_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.slice(from).find((l) => l.event === event);
      if (found) return found;
      const failed = this.lines.find((l) => l.event === 'error');
      if (failed || this.#child.exitCode !== null || Date.now() > deadline) {
        const why = failed ? String(failed.message) : this.#child.exitCode !== null ? 'exited' : `no ${event}`;
        throw new Error(`${this.name}: ${why}\n${this.stderr.join('\n')}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Asks for its frame counts and selected candidate pair. */
  async stats(): Promise<ViewerStats> {
    const from = this.lines.length;
    this.#child.stdin!.write(`${JSON.stringify({ cmd: 'stats' })}\n`);
    return (await this.line('stats', from)) as unknown as ViewerStats;
  }

  /** `viewer:leave`, then the child exits; resolves with the leave's ack. */
  async leave(): Promise<Record<string, unknown>> {
    this.#child.stdin!.write(`${JSON.stringify({ cmd: 'leave' })}\n`);
    const left = await this.line('left');
    await this.#exited;
    return left.ack as Record<string, unknown>;
  }

  /** Kills the child if it still runs (safe to call twice). */
  async kill(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      this.#child.kill('SIGKILL');
      await this.#exited;
    }
  }
}
