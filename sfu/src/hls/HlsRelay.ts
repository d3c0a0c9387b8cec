import { EventEmitter } from 'node:events';
import { rm, stat } from 'node:fs/promises';
import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import { SfuBadRequestError, SfuClosedError } from '../errors.ts';
import { openRtpFeed, RTP_IP } from '../ffmpeg/rtpFeed.ts';
import { buildRecvSdp, type SdpMedia } from '../ffmpeg/sdp.ts';
import { findFreeUdpPortPairs } from '../ffmpeg/udpPorts.ts';
import { applyLayerPick } from '../layers.ts';
import { layerPickOf } from './composeFilter.ts';
import { FfmpegHls } from './FfmpegHls.ts';
import type { Rendition } from './ladder.ts';
import type { StageLayout } from './stagePlan.ts';

/** Settings of one stream's HLS relay. */
export interface HlsRelayOptions {
  router: types.Router;
  /** The creator's producers; the first video and the first audio one are relayed (unless `compose` is given). */
  producers: { id: string; kind: types.MediaKind }[];
  /** Several producers composed into one picture and one mix instead (`planRelay`; `producers` is then ignored). */
  compose?: { layout: StageLayout; videos: string[]; audios: string[] };
  dir: string;
  ffmpegPath: string;
  segmentSeconds: number;
  /** Renditions to encode, highest first (`HLS_LADDER`). */
  ladder: Rendition[];
  logger: Logger;
  /** Called with `dir` on close, once ffmpeg has exited and before the output is removed (a recording's last take). */
  beforeRemove?: (dir: string) => Promise<void>;
}

export type HlsRelayEvents = {
  /** ffmpeg exited unexpectedly and is being restarted. */
  restart: [{ attempt: number; delayMs: number }];
};

/**
 * WebRTC encoders send keyframes only on request, and ffmpeg can neither probe nor cut a segment without one: after
 * each ffmpeg start, ask for a keyframe at this interval until the playlist is rewritten.
 */
const KEYFRAME_RETRY_MS = 700;

/**
 * PlainTransport consumers sending the stream's RTP to a supervised ffmpeg that writes live HLS (H.264 + AAC), one
 * rendition per rung of its ladder (one decode, one process): one video and audio as they come, or several composed
 * into one picture and one mix (`compose`). `close()` stops ffmpeg, closes the transports and deletes the output directory.
 */
export class HlsRelay extends EventEmitter<HlsRelayEvents> {
  readonly #opts: HlsRelayOptions;
  readonly #log: Logger;
  readonly #transports: types.PlainTransport[] = [];
  readonly #consumers: types.Consumer[] = [];
  #keyframeTimer: NodeJS.Timeout | undefined;
  #ffmpeg: FfmpegHls | undefined;
  #closing: Promise<void> | undefined;

  private constructor(opts: HlsRelayOptions) {
    super();
    this.#opts = opts;
    this.#log = opts.logger.child({ part: 'hls-relay' });
  }

  /** Wires the transports and starts ffmpeg; rejects (after cleaning up) when the stream has no video. */
  static async start(opts: HlsRelayOptions): Promise<HlsRelay> {
    const relay = new HlsRelay(opts);
    try {
      await relay.#start();
    } catch (err) {
      await relay.close();
      throw err;
    }
    return relay;
  }

  /** Pid of the current ffmpeg process. */
  get pid(): number | undefined {
    return this.#ffmpeg?.pid;
  }

  /** ffmpeg restarts after crashes. */
  get restarts(): number {
    return this.#ffmpeg?.restarts ?? 0;
  }

  /** ffmpeg replacements because a larger simulcast layer began to flow. */
  get respawns(): number {
    return this.#ffmpeg?.respawns ?? 0;
  }

  get playlistPath(): string | undefined {
    return this.#ffmpeg?.playlistPath;
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Stops ffmpeg, closes the RTP path and removes the output; safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#keyframeTimer);
      await this.#ffmpeg?.close();
      await this.#opts.beforeRemove?.(this.#opts.dir).catch((err) => this.#log.warn({ err }, 'before-remove failed'));
      for (const t of this.#transports) t.close();
      await rm(this.#opts.dir, { recursive: true, force: true });
      this.#log.info('hls relay stopped');
    })();
    return this.#closing;
  }

  async #start(): Promise<void> {
    const { router, producers, compose } = this.#opts;
    const video = compose ? compose.videos[0] : producers.find((p) => p.kind === 'video')?.id;
    const audio = compose ? compose.audios[0] : producers.find((p) => p.kind === 'audio')?.id;
    if (!video) throw new SfuBadRequestError('the stream has no video to relay to HLS');
    const feeds = compose ? [...compose.videos, ...compose.audios] : audio ? [video, audio] : [video];
    const media: SdpMedia[] = [];
    // One ffmpeg listens on every feed's ports: reserved together, so no two feeds get the same.
    const ports = await findFreeUdpPortPairs(RTP_IP, feeds.length);
    for (const [i, id] of feeds.entries()) {
      const feed = await openRtpFeed(router, id, { role: 'hls', port: ports[i] });
      this.#transports.push(feed.transport);
      this.#consumers.push(feed.consumer);
      if (this.#closing) {
        feed.transport.close();
        throw new SfuClosedError('hls relay');
      }
      const index = compose?.videos.indexOf(id) ?? -1;
      if (compose && index >= 0) {
        await applyLayerPick(feed.consumer, layerPickOf(compose.layout, compose.videos.length, index));
      }
      media.push(feed.media);
    }
    const ffmpeg = new FfmpegHls({
      ffmpegPath: this.#opts.ffmpegPath,
      dir: this.#opts.dir,
      input: { kind: 'sdp', sdp: buildRecvSdp(RTP_IP, media) },
      audio: audio !== undefined,
      ...(compose
        ? { compose: { layout: compose.layout, videos: compose.videos.length, audios: compose.audios.length } }
        : {}),
      ladder: this.#opts.ladder,
      segmentSeconds: this.#opts.segmentSeconds,
      // Numbered from the wall clock, so a relay rebuilt for the same stream (the creator republished) goes on above
      // the numbers it used before: players see the sequence move forward, and the edge never takes a new segment
      // for one a session was delivered in another rendition.
      startNumber: Math.floor(Date.now() / (this.#opts.segmentSeconds * 1000)),
      logger: this.#log,
    });
    this.#ffmpeg = ffmpeg;
    ffmpeg.on('spawn', () => this.#requestKeyFrames());
    ffmpeg.on('restart', (e) => this.emit('restart', e));
    await rm(this.#opts.dir, { recursive: true, force: true });
    await ffmpeg.start();
    await Promise.all(this.#consumers.map((c) => c.resume()));
    this.#followLayerRises();
    const renditions = this.#opts.ladder.map((r) => r.name);
    const layout = compose?.layout ?? 'single';
    this.#log.info({ ffmpegPid: ffmpeg.pid, kinds: media.map((m) => m.kind), layout, renditions }, 'hls relay started');
  }

  /**
   * ffmpeg fixes its picture size at the first frame it decodes, so a relay started while a simulcast sender still
   * ramps up would encode the whole stream at the size of the layer flowing then. Each time a larger layer than ever
   * before reaches the relay, ffmpeg is replaced to encode at that size: at most one replacement per layer above the
   * first. A layer that drops and comes back is not a rise.
   */
  #followLayerRises(): void {
    // A composition scales every input into its cell: its picture size never follows an input's.
    if (this.#opts.compose) return;
    const video = this.#consumers.find((c) => c.kind === 'video');
    if (video?.type !== 'simulcast') return;
    let largest = video.currentLayers?.spatialLayer;
    video.on('layerschange', (layers) => {
      if (!layers || this.#closing) return;
      const previous = largest;
      if (previous !== undefined && layers.spatialLayer <= previous) return;
      largest = layers.spatialLayer;
      if (previous === undefined) return;
      this.#log.info({ from: previous, to: largest }, 'a larger simulcast layer flows: restarting ffmpeg at its size');
      this.#ffmpeg?.respawn().catch((err) => this.#log.warn({ err }, 'ffmpeg could not be replaced'));
    });
  }

  /** Keyframes from every video (a composition decodes each input, and starts once each has a picture). */
  #requestKeyFrames(): void {
    const videos = this.#consumers.filter((c) => c.kind === 'video');
    // The master playlist is written once: a rendition's playlist tells that segments are being cut.
    const playlist = this.#ffmpeg?.mediaPlaylistPath;
    if (videos.length === 0 || !playlist) return;
    const since = Date.now();
    clearInterval(this.#keyframeTimer);
    const timer = setInterval(async () => {
      const written = await stat(playlist).then(
        (s) => s.mtimeMs >= since,
        () => false,
      );
      if (written || videos.every((v) => v.closed) || this.#closing) {
        clearInterval(timer);
        return;
      }
      for (const v of videos) if (!v.closed) v.requestKeyFrame().catch(() => {});
    }, KEYFRAME_RETRY_MS);
    this.#keyframeTimer = timer;
    for (const v of videos) v.requestKeyFrame().catch(() => {});
  }
}
