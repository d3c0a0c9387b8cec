import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import type { Logger } from 'pino';
import type { SfuConfig } from '../config.ts';
import { SfuBadRequestError } from '../errors.ts';
import { hlsDirOf } from '../hls/HlsReader.ts';
import { HlsRelay } from '../hls/HlsRelay.ts';
import { planRelay, type RelayPlan, type StageLayout, type StageProducer } from '../hls/stagePlan.ts';

/** Producer changes often come in pairs (camera + microphone): rebuild the HLS relay once for both. */
const HLS_REFRESH_DELAY_MS = 500;

/** Settings the HLS part of a room takes from the Sfu. */
export type RoomHlsConfig = Pick<
  SfuConfig,
  'hlsDir' | 'hlsLingerMs' | 'hlsSegmentSeconds' | 'hlsLadder' | 'ffmpegPath'
>;

export type RoomHlsEvents = {
  /** The relay's ffmpeg exited and is being restarted. */
  restart: [{ attempt: number; delayMs: number }];
  /** The relay stopped (stream end, or no HLS viewer for the linger time). */
  stopped: [];
};

/** What the HLS part relays: the origin router, the room's producers (the host's first) and its layout, if set. */
export interface RoomHlsSource {
  router(): types.Router;
  producers(): StageProducer[];
  layout(): StageLayout | undefined;
}

/**
 * The HLS side of a room: its HLS viewers, the relay (ffmpeg) started for the first of them or kept by a recording,
 * the linger after the last one, and rebuilds when what it relays changes (`planRelay`: one participant's media, or
 * the stage composed). `close()` (idempotent) stops it.
 */
export class RoomHls extends EventEmitter<RoomHlsEvents> {
  readonly #streamId: string;
  readonly #cfg: RoomHlsConfig;
  readonly #source: RoomHlsSource;
  readonly #log: Logger;
  readonly #viewers = new Set<string>();
  #hls: Promise<HlsRelay> | undefined;
  #relay: HlsRelay | undefined;
  /** `RelayPlan.key` of the relay running or starting. */
  #key: string | undefined;
  #linger: NodeJS.Timeout | undefined;
  #refresh: NodeJS.Timeout | undefined;
  /** Set while the relay is kept without HLS viewers (a recording): handed each relay's final output. */
  #tap: ((dir: string) => Promise<void>) | undefined;
  #closed = false;

  constructor(streamId: string, cfg: RoomHlsConfig, source: RoomHlsSource, log: Logger) {
    super();
    this.#streamId = streamId;
    this.#cfg = cfg;
    this.#source = source;
    this.#log = log;
  }

  /** Ids of the viewers watching over HLS. */
  get viewerIds(): string[] {
    return [...this.#viewers];
  }

  /** The running relay, if any. */
  get relay(): HlsRelay | undefined {
    return this.#relay;
  }

  /** Registers an HLS viewer; starts the relay on the first one (resolves once ffmpeg runs). */
  async addViewer(viewerId: string): Promise<void> {
    this.#viewers.add(viewerId);
    clearTimeout(this.#linger);
    this.#linger = undefined;
    try {
      await this.#start();
    } catch (err) {
      this.#viewers.delete(viewerId);
      throw err;
    }
  }

  /** Unregisters an HLS viewer; the relay stops after the linger time once nobody watches over HLS. */
  removeViewer(viewerId: string): void {
    if (this.#viewers.delete(viewerId)) this.#lingerThenStop();
  }

  /** See Room.keepHls. */
  keep(tap: ((dir: string) => Promise<void>) | undefined): void {
    if (this.#closed) return;
    this.#tap = tap;
    if (!tap) this.#lingerThenStop();
    else if (!this.#hls && this.#hasVideo()) {
      this.#start().catch((err) => this.#log.error({ err }, 'could not start the hls relay'));
    }
  }

  /** Stops the relay now (no-op when none runs). */
  async stop(): Promise<void> {
    clearTimeout(this.#linger);
    this.#linger = undefined;
    clearTimeout(this.#refresh);
    this.#refresh = undefined;
    const starting = this.#hls;
    this.#hls = undefined;
    this.#relay = undefined;
    this.#key = undefined;
    if (!starting) return;
    const relay = await starting.catch(() => undefined);
    await relay?.close();
    if (relay && !this.#closed) this.emit('stopped');
  }

  /** What the relay carries now (undefined: nothing has video). */
  get plan(): RelayPlan | undefined {
    return planRelay(this.#source.producers(), this.#source.layout());
  }

  /**
   * The relay consumes the producers present when it started: call on any producer, pause or layout change; the
   * relay is rebuilt when what it would carry differs (so a lone host's mute changes nothing, as before).
   */
  refresh(): void {
    const wanted = this.#viewers.size > 0 || this.#tap !== undefined;
    if ((!this.#hls && !wanted) || this.#refresh || this.#closed) return;
    this.#refresh = setTimeout(async () => {
      this.#refresh = undefined;
      if (this.#closed) return;
      if (this.#hls && this.#key === this.plan?.key) return;
      await this.stop();
      if ((this.#viewers.size > 0 || this.#tap) && !this.#closed && this.#hasVideo()) {
        await this.#start().catch((err) => this.#log.error({ err }, 'could not restart the hls relay'));
      }
    }, HLS_REFRESH_DELAY_MS);
  }

  /** Forgets the viewers and the tap and stops the relay (idempotent). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#viewers.clear();
    await this.stop();
    this.#tap = undefined;
    this.removeAllListeners();
  }

  #hasVideo(): boolean {
    return this.plan !== undefined;
  }

  /** Stops the relay after the linger time once nobody watches over HLS and nothing keeps it. */
  #lingerThenStop(): void {
    if (this.#viewers.size > 0 || this.#tap || !this.#hls) return;
    clearTimeout(this.#linger);
    this.#linger = setTimeout(() => {
      this.#linger = undefined;
      if (this.#viewers.size === 0 && !this.#tap) this.stop().catch(() => {});
    }, this.#cfg.hlsLingerMs);
  }

  #start(): Promise<HlsRelay> {
    if (!this.#hls) {
      const dir = hlsDirOf(this.#cfg.hlsDir, this.#streamId);
      if (!dir)
        return Promise.reject(new SfuBadRequestError(`stream id ${this.#streamId} cannot name an HLS directory`));
      const plan = this.plan;
      if (!plan) return Promise.reject(new SfuBadRequestError('the stream has no video to relay to HLS'));
      const starting = HlsRelay.start({
        router: this.#source.router(),
        producers:
          plan.mode === 'single'
            ? [{ id: plan.video, kind: 'video' }, ...(plan.audio ? [{ id: plan.audio, kind: 'audio' as const }] : [])]
            : [],
        ...(plan.mode === 'composed'
          ? { compose: { layout: plan.layout, videos: plan.videos, audios: plan.audios } }
          : {}),
        dir,
        ffmpegPath: this.#cfg.ffmpegPath,
        segmentSeconds: this.#cfg.hlsSegmentSeconds,
        ladder: this.#cfg.hlsLadder,
        logger: this.#log,
        beforeRemove: (output) => this.#tap?.(output) ?? Promise.resolve(),
      });
      this.#hls = starting;
      this.#key = plan.key;
      starting.then(
        (relay) => {
          if (this.#hls !== starting) return;
          this.#relay = relay;
          relay.on('restart', (e) => this.emit('restart', e));
        },
        () => {
          if (this.#hls !== starting) return;
          this.#hls = undefined;
          this.#key = undefined;
        },
      );
    }
    return this.#hls;
  }
}
