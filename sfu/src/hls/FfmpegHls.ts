import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { SfuClosedError } from '../errors.ts';
import { type FfmpegInput, type HlsEncodeSpec, hlsEncodeArgs } from './ffmpegArgs.ts';
import { PLAYLIST_NAME, variantPlaylistName } from './names.ts';

export type { FfmpegInput };
export { PLAYLIST_NAME };

/** Settings of one supervised ffmpeg HLS encoder (`dir` is created if missing). */
export interface FfmpegHlsOptions extends HlsEncodeSpec {
  ffmpegPath: string;
  logger: Logger;
  /** First restart delay after a crash; doubles per consecutive crash. */
  restartDelayMs?: number;
  /** Upper bound of the restart delay. */
  maxRestartDelayMs?: number;
}

export type FfmpegHlsEvents = {
  spawn: [{ pid: number }];
  exit: [{ pid: number; code: number | null; signal: NodeJS.Signals | null }];
  restart: [{ attempt: number; delayMs: number }];
};

/** A run shorter than this counts as a crash loop for back-off purposes. */
const STABLE_RUN_MS = 10_000;
const KILL_GRACE_MS = 3_000;

/**
 * ffmpeg transcoding its input to H.264 + AAC live HLS (MPEG-TS segments) in every rendition of its ladder (see
 * `hlsEncodeArgs`), restarted with back-off whenever it exits on its own. `close()` stops it (SIGTERM, then SIGKILL) and waits for the process to be gone.
 */
export class FfmpegHls extends EventEmitter<FfmpegHlsEvents> {
  readonly #opts: FfmpegHlsOptions;
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

  constructor(opts: FfmpegHlsOptions) {
    super();
    this.#opts = opts;
    this.#log = opts.logger.child({ part: 'ffmpeg-hls' });
  }

  /** Path of the playlist players open (the master playlist of a ladder). */
  get playlistPath(): string {
    return join(this.#opts.dir, PLAYLIST_NAME);
  }

  /** Path of the first (highest) rendition's media playlist: rewritten at every segment. */
  get mediaPlaylistPath(): string {
    const { ladder, dir } = this.#opts;
    const top = ladder[0];
    return ladder.length === 1 || !top ? this.playlistPath : join(dir, variantPlaylistName(top.name));
  }

  /** Pid of the running ffmpeg, if any. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Creates the output directory and spawns ffmpeg. */
  async start(): Promise<void> {
    if (this.#closing) throw new SfuClosedError('hls encoder');
    await mkdir(this.#opts.dir, { recursive: true });
    if (this.#closing) throw new SfuClosedError('hls encoder');
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
   * the input's picture grew past the size the running one scaled for. Numbering goes on from the playlists.
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
    const child = spawn(this.#opts.ffmpegPath, hlsEncodeArgs(this.#opts), { stdio: ['pipe', 'ignore', 'pipe'] });
    this.#child = child;
    const stderrTail: string[] = [];
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderrTail.push(chunk);
      if (stderrTail.length > 20) stderrTail.shift();
    });
    // EPIPE when ffmpeg dies before reading its SDP is reported through 'exit'.
    child.stdin?.on('error', () => {});
    const input = this.#opts.input;
    child.stdin?.end(input.kind === 'sdp' ? input.sdp : undefined);
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
