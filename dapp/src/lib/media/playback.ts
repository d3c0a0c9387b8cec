// A viewer's playback after admission: WebRTC or HLS as the server placed it, what the watch meter samples from it,
// and the short-lived HLS token kept fresh while the viewer keeps paying.
import type { Admission, ReplayAdmission } from '@persecond/signaling/protocol';
import type { Device } from 'mediasoup-client/types';
import { config } from '../config.ts';
import type { ProgressSample } from '../payment/meter.ts';
import { request, type SignalingSocket } from '../signaling/socket.ts';
import type { QualityControl } from './hlsQuality.ts';
import { type EdgeRefusal, type HlsPlayback, type Playback, playHls, playWebRtc } from './player.ts';
import { loadDevice } from './publisher.ts';

/** WebRTC could not be set up in this browser (ICE/DTLS failure, no WebRTC): the viewer asks for HLS instead. */
export class WebRtcUnavailableError extends Error {
  constructor(override readonly cause: unknown) {
    super('WebRTC playback could not start');
    this.name = 'WebRtcUnavailableError';
  }
}

/** What playback needs besides the admission. */
export interface PlaybackTarget {
  socket: SignalingSocket;
  streamId: string;
  video: HTMLVideoElement;
  /** The stream's WebRTC device, loaded ahead of time when it could be. */
  device: () => Promise<Device | undefined>;
  tokens: HlsTokenKeeper;
  /** Told the HLS edge's refusals (undefined once media loads again). */
  onRefusal?: (refusal: EdgeRefusal | undefined) => void;
  /** Where a replay starts playing (seconds into the recording). */
  startAt?: number;
}

/**
 * Plays what the admission placed the viewer on (a replay: its recording over HLS, from the start, with seeking);
 * throws WebRtcUnavailableError when WebRTC cannot start.
 */
export async function startPlayback(admission: Admission | ReplayAdmission, t: PlaybackTarget): Promise<Playback> {
  if (admission.mode === 'webrtc') {
    try {
      return await playWebRtc(t.socket, t.streamId, t.video, await t.device());
    } catch (err) {
      throw new WebRtcUnavailableError(err);
    }
  }
  const playback = await playHls(admission.playlistUrl, admission.token, t.video, config.PUBLIC_SIGNALING_URL, {
    freshToken: () => t.tokens.request(),
    vod: admission.mode === 'replay',
    startPosition: t.startAt ?? 0,
    ...(t.onRefusal ? { onRefusal: t.onRefusal } : {}),
  });
  t.tokens.attach(playback);
  return playback;
}

/** One sample of the player's progress for the watch meter. */
export async function sampleProgress(
  playback: Playback | undefined,
  video: HTMLVideoElement | undefined,
): Promise<Omit<ProgressSample, 'at'>> {
  const frames = playback?.mode === 'webrtc' ? await playback.framesDecoded() : undefined;
  const buffered = playback?.mode === 'hls' ? video?.buffered : undefined;
  return {
    framesDecoded: frames,
    mediaTime: video?.currentTime,
    bufferedEnd: buffered?.length ? buffered.end(buffered.length - 1) : undefined,
  };
}

/**
 * The HLS token of the current playback: renewed from ticks, `payment:ok` and `media:resumed`, and asked for afresh
 * (`hls:token`) when a request was refused or media resumed without one.
 */
export class HlsTokenKeeper {
  #playback: HlsPlayback | undefined;

  constructor(private readonly socket: () => SignalingSocket | undefined) {}

  /** Follows `playback` (and forgets the previous one). */
  attach(playback: HlsPlayback): void {
    this.#playback = playback;
  }

  /** Forgets the playback (it stopped). */
  detach(): void {
    this.#playback = undefined;
  }

  /** Uses `token` for the next requests, when one came. */
  renew(token: string | undefined): void {
    if (token) this.#playback?.renewToken(token);
  }

  /** A fresh HLS token from the server, or undefined while payments are behind. */
  async request(): Promise<string | undefined> {
    const socket = this.socket();
    if (!socket) return undefined;
    try {
      return (await request(socket, 'hls:token', {})).hlsToken;
    } catch {
      return undefined;
    }
  }

  /**
   * HLS tokens are renewed in answers to vouchers, and no tick (so no voucher) comes while paused: the token may have
   * lapsed by the time payments are current again. Asked for afresh.
   */
  async refresh(): Promise<void> {
    if (this.#playback) this.renew(await this.request());
  }
}

/** A viewer's player for one stream: the WebRTC device loaded once, the running playback and its HLS token. */
export class ViewerPlayback {
  readonly tokens: HlsTokenKeeper;
  /** Told the HLS edge's refusals of the running playback (undefined once media loads again). */
  onRefusal: ((refusal: EdgeRefusal | undefined) => void) | undefined;
  #device: Promise<Device | undefined> | undefined;
  #playback: Playback | undefined;

  constructor(
    private readonly socket: () => SignalingSocket | undefined,
    private readonly streamId: string,
  ) {
    this.tokens = new HlsTokenKeeper(socket);
  }

  /** The stream's WebRTC device, loaded once (a failure is forgotten so the next join loads it again). */
  loadDevice(): Promise<Device | undefined> {
    const socket = this.socket();
    if (!socket) return Promise.resolve(undefined);
    this.#device ??= loadDevice(socket, this.streamId).catch(() => {
      this.#device = undefined;
      return undefined;
    });
    return this.#device;
  }

  /**
   * Plays what `admission` placed the viewer on into `video` (stopping what played); see `startPlayback`. A replay
   * starts at `startAt` seconds.
   */
  async start(
    admission: Admission | ReplayAdmission,
    socket: SignalingSocket,
    video: HTMLVideoElement,
    startAt = 0,
  ): Promise<'webrtc' | 'hls'> {
    this.stop();
    const target = {
      ...{ socket, streamId: this.streamId, video, device: () => this.loadDevice(), tokens: this.tokens },
      onRefusal: (r: EdgeRefusal | undefined) => this.onRefusal?.(r),
      startAt,
    };
    this.#playback = await startPlayback(admission, target);
    return this.#playback.mode;
  }

  /** The quality menu's control of the running playback (simulcast layers or HLS renditions; none for native HLS). */
  get quality(): QualityControl | undefined {
    return this.#playback?.quality;
  }

  /** One sample of the running playback's progress. */
  sample(video: HTMLVideoElement | undefined): Promise<Omit<ProgressSample, 'at'>> {
    return sampleProgress(this.#playback, video);
  }

  /** Stops playing; safe to call twice. */
  stop(): void {
    this.tokens.detach();
    this.#playback?.close();
    this.#playback = undefined;
  }
}
