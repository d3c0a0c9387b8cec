import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { SfuClosedError } from '../errors.ts';

/** Name of the live playlist inside a stream's HLS directory. */
export const PLAYLIST_NAME = 'index.m3u8';

/** Where ffmpeg reads media from: an SDP document (written to its stdin) or raw input arguments. */
export type FfmpegInput = { kind: 'sdp'; sdp: string } | { kind: 'args'; args: string[] };

/** Settings of one supervised ffmpeg HLS encoder. */
export interface FfmpegHlsOptions {
  ffmpegPath: string;
  /** Output directory (created if missing). */
  dir: string;
  input: FfmpegInput;
  segmentSeconds: number;
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
 * ffmpeg transcoding its input to H.264 + AAC live HLS (MPEG-TS segments), restarted with back-off whenever it
 * exits on its own. `close()` stops it (SIGTERM, then SIGKILL) and waits for the process to be gone.
 */
export class FfmpegHls extends EventEmitter<FfmpegHlsEvents> {
  readonly #opts: FfmpegHlsOptions;
  readonly #log: Logger;
  #child: ChildProcess | undefined;
  #childExited: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #crashes = 0;
  #closing: Promise<void> | undefined;
  /** Restarts performed after unexpected exits. */
  restarts = 0;

  constructor(opts: FfmpegHlsOptions) {
    super();
    this.#opts = opts;
    this.#log = opts.logger.child({ part: 'ffmpeg-hls' });
  }

  /** Path of the live playlist. */
  get playlistPath(): string {
    return join(this.#opts.dir, PLAYLIST_NAME);
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
      const child = this.#child;
      if (child && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
        await this.#childExited;
        clearTimeout(killer);
      }
      this.#child = undefined;
    })();
    return this.#closing;
  }

  #args(): string[] {
    const { input, segmentSeconds, dir } = this.#opts;
    const inputArgs =
      input.kind === 'sdp'
        ? [
            // RTP over UDP from mediasoup; the SDP arrives on stdin.
            '-protocol_whitelist',
            'pipe,udp,rtp',
            '-fflags',
            '+genpts+discardcorrupt',
            '-analyzeduration',
            '2000000',
            '-probesize',
            '5000000',
            '-reorder_queue_size',
            '128',
            '-f',
            'sdp',
            '-i',
            'pipe:0',
          ]
        : input.args;
    const gop = `expr:gte(t,n_forced*${segmentSeconds})`;
    return [
      '-hide_banner',
      '-nostats',
      '-loglevel',
      'warning',
      ...inputArgs,
      '-map',
      '0:v:0',
      '-map',
      // Audio is optional: a stream may be video only.
      input.kind === 'sdp' ? '0:a:0?' : '1:a:0?',
      // RTP timestamps make ffmpeg guess a huge constant frame rate and duplicate frames to fill it: keep the
      // source's own frame timing instead.
      '-fps_mode:v',
      'vfr',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-tune',
      'zerolatency',
      '-profile:v',
      'main',
      '-pix_fmt',
      'yuv420p',
      '-force_key_frames',
      gop,
      '-sc_threshold',
      '0',
      '-maxrate',
      '2500k',
      '-bufsize',
      '5000k',
      '-c:a',
      'aac',
      '-b:a',
      '96k',
      '-ac',
      '2',
      '-ar',
      '48000',
      '-f',
      'hls',
      '-hls_time',
      String(segmentSeconds),
      '-hls_list_size',
      '6',
      '-hls_delete_threshold',
      '2',
      // append_list continues numbering across restarts; discont_start marks the restart for players.
      '-hls_flags',
      'delete_segments+independent_segments+omit_endlist+append_list+discont_start+temp_file',
      '-hls_segment_filename',
      join(dir, 'seg_%05d.ts'),
      join(dir, PLAYLIST_NAME),
    ];
  }

  #spawn(): void {
    const startedAt = Date.now();
    const child = spawn(this.#opts.ffmpegPath, this.#args(), { stdio: ['pipe', 'ignore', 'pipe'] });
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
