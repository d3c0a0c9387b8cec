import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { SfuClosedError } from '../errors.ts';

/** What one supervised ffmpeg runs. */
export interface SupervisedFfmpegOptions {
  ffmpegPath: string;
  /** Arguments of a run (asked again at every spawn). */
  args: () => string[];
  /** Written to ffmpeg's stdin at every spawn, which is then closed (e.g. an SDP document). */
  stdin?: string;
  /** What the process is, in errors ("hls encoder is closed"). */
  name: string;
  logger: Logger;
  /** First restart delay after a crash; doubles per consecutive crash. */
  restartDelayMs?: number;
  /** Upper bound of the restart delay. */
  maxRestartDelayMs?: number;
}

export type SupervisedFfmpegEvents = {
  spawn: [{ pid: number }];
  exit: [{ pid: number; code: number | null; signal: NodeJS.Signals | null }];
  restart: [{ attempt: number; delayMs: number }];
};

/** A run shorter than this counts as a crash loop for back-off purposes. */
const STABLE_RUN_MS = 10_000;
const KILL_GRACE_MS = 3_000;

/**
 * An ffmpeg process restarted with back-off whenever it exits on its own. `close()` stops it (SIGTERM, then SIGKILL)
 * and waits for the process to be gone.
 */
export class SupervisedFfmpeg extends EventEmitter<SupervisedFfmpegEvents> {
  readonly #opts: SupervisedFfmpegOptions;
  readonly #log: Logger;
  #child: ChildProcess | undefined;
  #childExited: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #crashes = 0;
  #closing: Promise<void> | undefined;
  #respawning: Promise<void> | undefined;
  /** Restarts performed after unexpected exits. */
  restarts = 0;
  /** Replacements asked for with `respawn()`. */
  respawns = 0;

  constructor(opts: SupervisedFfmpegOptions) {
    super();
    this.#opts = opts;
    this.#log = opts.logger;
  }

  /** Pid of the running ffmpeg, if any. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Spawns ffmpeg. */
  async start(): Promise<void> {
    if (this.#closing) throw new SfuClosedError(this.#opts.name);
    this.#spawn();
  }

  /** Stops ffmpeg for good; safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearTimeout(this.#timer);
      await this.#stopChild();
      await this.#respawning;
    })();
    return this.#closing;
  }

  /**
   * Replaces the running ffmpeg with a new one now (not a crash: no back-off, not counted in `restarts`), e.g. when
   * the input's picture grew past the size the running one scaled for.
   */
  respawn(): Promise<void> {
    this.#respawning ??= (async () => {
      clearTimeout(this.#timer);
      await this.#stopChild();
      if (this.#closing) return;
      this.respawns++;
      this.#spawn();
    })().finally(() => {
      this.#respawning = undefined;
    });
    return this.#respawning;
  }

  /** Ends the current ffmpeg (SIGTERM, then SIGKILL) without its exit counting as a crash. */
  async #stopChild(): Promise<void> {
    const child = this.#child;
    // Cleared first: the exit handler restarts only the process still current.
    this.#child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    await this.#childExited;
    clearTimeout(killer);
  }

  #spawn(): void {
    const startedAt = Date.now();
    const child = spawn(this.#opts.ffmpegPath, this.#opts.args(), { stdio: ['pipe', 'ignore', 'pipe'] });
    this.#child = child;
    const stderrTail: string[] = [];
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderrTail.push(chunk);
      if (stderrTail.length > 20) stderrTail.shift();
    });
    // EPIPE when ffmpeg dies before reading its stdin is reported through 'exit'.
    child.stdin?.on('error', () => {});
    child.stdin?.end(this.#opts.stdin);
    this.#childExited = new Promise<void>((resolve) => {
      child.once('error', (err) => {
        this.#log.error({ err }, 'ffmpeg could not be started');
      });
      child.once('close', (code, signal) => {
        resolve();
        const pid = child.pid ?? -1;
        this.emit('exit', { pid, code, signal });
        if (this.#closing || this.#child !== child) return;
        this.#crashes = Date.now() - startedAt > STABLE_RUN_MS ? 1 : this.#crashes + 1;
        const base = this.#opts.restartDelayMs ?? 250;
        const delayMs = Math.min(base * 2 ** (this.#crashes - 1), this.#opts.maxRestartDelayMs ?? 5_000);
        this.#log.warn(
          { ffmpegPid: pid, code, signal, delayMs, stderr: stderrTail.join('').slice(-2000) },
          'ffmpeg exited',
        );
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          if (this.#closing) return;
          this.restarts++;
          this.emit('restart', { attempt: this.#crashes, delayMs });
          this.#spawn();
        }, delayMs);
      });
    });
    if (child.pid !== undefined) {
      this.#log.info({ ffmpegPid: child.pid }, 'ffmpeg started');
      this.emit('spawn', { pid: child.pid });
    }
  }
}
