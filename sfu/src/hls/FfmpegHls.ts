import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { SfuClosedError } from '../errors.ts';
import { SupervisedFfmpeg, type SupervisedFfmpegEvents } from '../ffmpeg/SupervisedFfmpeg.ts';
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

export type FfmpegHlsEvents = SupervisedFfmpegEvents;

/**
 * ffmpeg transcoding its input to H.264 + AAC live HLS (MPEG-TS segments) in every rendition of its ladder (see
 * `hlsEncodeArgs`), restarted with back-off whenever it exits on its own (`SupervisedFfmpeg`). `close()` stops it
 * (SIGTERM, then SIGKILL) and waits for the process to be gone; `respawn()` replaces it, numbering going on from the
 * playlists.
 */
export class FfmpegHls extends SupervisedFfmpeg {
  readonly #opts: FfmpegHlsOptions;

  constructor(opts: FfmpegHlsOptions) {
    super({
      ffmpegPath: opts.ffmpegPath,
      args: () => hlsEncodeArgs(opts),
      stdin: opts.input.kind === 'sdp' ? opts.input.sdp : undefined,
      name: 'hls encoder',
      logger: opts.logger.child({ part: 'ffmpeg-hls' }),
      restartDelayMs: opts.restartDelayMs,
      maxRestartDelayMs: opts.maxRestartDelayMs,
    });
    this.#opts = opts;
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

  /** Creates the output directory and spawns ffmpeg. */
  override async start(): Promise<void> {
    if (this.closed) throw new SfuClosedError('hls encoder');
    await mkdir(this.#opts.dir, { recursive: true });
    await super.start();
  }
}
