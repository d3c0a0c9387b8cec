import { EventEmitter } from 'node:events';
import { stat } from 'node:fs/promises';
import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import { SfuBadRequestError, SfuClosedError } from '../errors.ts';
import { openRtpFeed, RTP_IP, type RtpFeed } from '../ffmpeg/rtpFeed.ts';
import { SupervisedFfmpeg } from '../ffmpeg/SupervisedFfmpeg.ts';
import { buildRecvSdp } from '../ffmpeg/sdp.ts';
import { thumbnailArgs } from './thumbnailArgs.ts';

/** Settings of one producer's thumbnailer. */
export interface ThumbnailerOptions {
  router: types.Router;
  /** A video producer on `router`. */
  producerId: string;
  /** The JPEG, replaced at each picture; its directory must exist. */
  file: string;
  ffmpegPath: string;
  /** Height of the picture (`THUMBNAIL_HEIGHT`). */
  height: number;
  /** How often a new picture is asked for once there is one (`THUMBNAIL_INTERVAL_SECONDS`). */
  intervalMs: number;
  logger: Logger;
}

export type ThumbnailerEvents = {
  /** ffmpeg wrote a new picture (`at`: its modification time, ms since the epoch). */
  picture: [{ at: number }];
};

/** Until ffmpeg's first picture after a (re)start, a keyframe is asked for this often; the file is looked at too. */
const FIRST_PICTURE_RETRY_MS = 1_000;

/**
 * A PlainTransport consumer of the smallest simulcast layer of a video producer, sending RTP to a supervised ffmpeg
 * that decodes only keyframes into a small JPEG (`thumbnailArgs`). WebRTC encoders send keyframes on request only: one
 * is asked for every `intervalMs`, and every second until a picture exists. `close()` stops ffmpeg and closes the
 * transport (so the consumer and the UDP ports); the picture stays, its owner removes it. It closes by itself when
 * its consumer does (producer, transport or router closed).
 */
export class Thumbnailer extends EventEmitter<ThumbnailerEvents> {
  readonly #opts: ThumbnailerOptions;
  readonly #log: Logger;
  /** Pictures older than this are someone else's (a previous thumbnailer's, or a previous process's). */
  readonly #createdAt = Date.now();
  #feed: RtpFeed | undefined;
  #ffmpeg: SupervisedFfmpeg | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** When the current ffmpeg run started. */
  #runSince = 0;
  #lastKeyFrameRequest = 0;
  #pictureAt: number | undefined;
  #closing: Promise<void> | undefined;

  private constructor(opts: ThumbnailerOptions) {
    super();
    this.#opts = opts;
    this.#log = opts.logger.child({ part: 'thumbnailer', producerId: opts.producerId });
  }

  /** Wires the transport and starts ffmpeg; rejects (after cleaning up) when the producer cannot be consumed. */
  static async start(opts: ThumbnailerOptions): Promise<Thumbnailer> {
    const thumbnailer = new Thumbnailer(opts);
    try {
      await thumbnailer.#start();
    } catch (err) {
      await thumbnailer.close();
      throw err;
    }
    return thumbnailer;
  }

  /** The producer whose pictures this takes. */
  get producerId(): string {
    return this.#opts.producerId;
  }

  /** Pid of the current ffmpeg process. */
  get pid(): number | undefined {
    return this.#ffmpeg?.pid;
  }

  /** The PlainTransport sending to ffmpeg. */
  get transportId(): string | undefined {
    return this.#feed?.transport.id;
  }

  /** The UDP port ffmpeg receives RTP on (RTCP on the next one). */
  get port(): number | undefined {
    return this.#feed?.media.port;
  }

  /** The simulcast layers the consumer forwards now (undefined for a single-layer producer, or before media). */
  get currentLayers(): types.ConsumerLayers | undefined {
    return this.#feed?.consumer.currentLayers;
  }

  /** ffmpeg restarts after crashes. */
  get restarts(): number {
    return this.#ffmpeg?.restarts ?? 0;
  }

  /** Modification time of the newest picture this thumbnailer wrote, once there is one. */
  get pictureAt(): number | undefined {
    return this.#pictureAt;
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Stops ffmpeg and closes the RTP path; safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearTimeout(this.#timer);
      await this.#ffmpeg?.close();
      this.#feed?.transport.close();
      this.#log.debug('thumbnailer stopped');
    })();
    return this.#closing;
  }

  async #start(): Promise<void> {
    const { router, producerId, file, height } = this.#opts;
    const feed = await openRtpFeed(router, producerId, {
      role: 'thumbnail',
      // The smallest picture is plenty for a thumbnail and the cheapest keyframe to ask the sender for.
      preferredLayers: { spatialLayer: 0 },
    });
    this.#feed = feed;
    if (this.#closing) {
      feed.transport.close();
      throw new SfuClosedError('thumbnailer');
    }
    if (feed.consumer.kind !== 'video') throw new SfuBadRequestError('a thumbnail is taken of a video producer');
    feed.consumer.observer.once('close', () => void this.close());
    const ffmpeg = new SupervisedFfmpeg({
      ffmpegPath: this.#opts.ffmpegPath,
      args: () => thumbnailArgs(file, height),
      stdin: buildRecvSdp(RTP_IP, [feed.media]),
      name: 'thumbnailer',
      logger: this.#log,
    });
    this.#ffmpeg = ffmpeg;
    ffmpeg.on('spawn', () => {
      this.#runSince = Date.now();
      this.#lastKeyFrameRequest = 0;
    });
    await ffmpeg.start();
    await feed.consumer.resume();
    this.#tick();
    this.#log.info({ ffmpegPid: ffmpeg.pid, port: feed.media.port }, 'thumbnailer started');
  }

  /** Looks for a new picture and asks for a keyframe when one is due; then again a second later. */
  #tick(): void {
    const { file, intervalMs } = this.#opts;
    const consumer = this.#feed?.consumer;
    if (this.#closing || !consumer) return;
    stat(file)
      .then(
        (s) => s.mtimeMs,
        () => undefined,
      )
      .then((mtime) => {
        if (this.#closing) return;
        if (mtime !== undefined && mtime >= this.#createdAt && mtime !== this.#pictureAt) {
          this.#pictureAt = mtime;
          this.emit('picture', { at: mtime });
        }
        const fresh = this.#pictureAt !== undefined && this.#pictureAt >= this.#runSince;
        const now = Date.now();
        if (now - this.#lastKeyFrameRequest >= (fresh ? intervalMs : FIRST_PICTURE_RETRY_MS)) {
          this.#lastKeyFrameRequest = now;
          consumer.requestKeyFrame().catch(() => {});
        }
        this.#timer = setTimeout(() => this.#tick(), Math.min(FIRST_PICTURE_RETRY_MS, intervalMs));
      });
  }
}
