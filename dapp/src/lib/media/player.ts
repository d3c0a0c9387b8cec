// Plays a stream into a <video>: WebRTC through mediasoup-client, or HLS through hls.js (native where supported).
import type { HlsConfig } from 'hls.js';
import type { Consumer, Device, Transport } from 'mediasoup-client/types';
import { request, type SignalingSocket } from '../signaling/socket.ts';
import { receivedTracks } from '../stage/receivedTracks.svelte.ts';
import { hlsQualityControl, type QualityControl } from './hlsQuality.ts';
import { loadDevice, transportOptions } from './publisher.ts';
import { rtcQualityControl } from './rtcQuality.ts';

/** A running playback. */
export interface Playback {
  readonly mode: 'webrtc' | 'hls';
  /** The quality menu's control (WebRTC: simulcast layers; hls.js: renditions; none for a native HLS player). */
  readonly quality: QualityControl | undefined;
  /** Video frames decoded so far (WebRTC) — progress for the watch meter. */
  framesDecoded(): Promise<number | undefined>;
  /** Stops playback; safe to call twice. */
  close(): void;
}

/** Receives the stream over WebRTC; resolves once the consumers are resumed. `device`: one loaded ahead of time. */
export async function playWebRtc(
  socket: SignalingSocket,
  streamId: string,
  video: HTMLVideoElement,
  preloaded?: Device,
): Promise<Playback> {
  const device = preloaded ?? (await loadDevice(socket, streamId));
  const { transport: info, iceServers } = await request(socket, 'rtc:createTransport', { streamId, direction: 'recv' });
  const transport: Transport = device.createRecvTransport(transportOptions(info, iceServers));
  transport.on('connect', ({ dtlsParameters }, done, fail) => {
    request(socket, 'rtc:connectTransport', { transportId: transport.id, dtlsParameters: { ...dtlsParameters } }).then(
      () => done(),
      fail,
    );
  });
  const consumers: Consumer[] = [];
  const media = new MediaStream();
  const quality = rtcQualityControl(socket, () => consumers.find((c) => c.kind === 'video' && !c.closed)?.id, video);
  /** Consumes what the server offers that this viewer does not have yet, attaches the tracks and resumes them. */
  const consumeOffered = async (): Promise<void> => {
    const { consumers: offered } = await request(socket, 'rtc:consume', {
      transportId: transport.id,
      rtpCapabilities: { ...device.recvRtpCapabilities },
    });
    const added: Consumer[] = [];
    for (const c of offered) {
      if (consumers.some((have) => have.id === c.id)) continue;
      added.push(
        await transport.consume({
          id: c.id,
          producerId: c.producerId,
          kind: c.kind,
          rtpParameters: c.rtpParameters as Parameters<Transport['consume']>[0]['rtpParameters'],
        }),
      );
    }
    for (const c of added) {
      consumers.push(c);
      media.addTrack(c.track);
      // The stage view shows each member's camera and screen in its own tile.
      receivedTracks.add({ streamId, producerId: c.producerId, kind: c.kind, track: c.track });
    }
    // Consumers are created paused; resume once the track is attached so no keyframe is lost.
    for (const c of added) await request(socket, 'rtc:resume', { consumerId: c.id });
  };
  try {
    await consumeOffered();
    video.srcObject = media;
    await video.play().catch(() => undefined);
  } catch (err) {
    quality.close();
    transport.close();
    throw err;
  }
  let closed = false;
  // The creator may add producers later (audio after video, or publishing again after a reconnect).
  const onNewProducers = (p: { streamId: string }) => {
    if (closed || p.streamId !== streamId) return;
    consumeOffered().then(
      () => video.play().catch(() => undefined),
      () => undefined,
    );
  };
  socket.on('rtc:newProducers', onNewProducers);
  return {
    mode: 'webrtc',
    quality,
    async framesDecoded() {
      const v = consumers.find((c) => c.kind === 'video');
      if (!v || v.closed) return undefined;
      let frames = 0;
      for (const s of (await v.getStats()).values()) if (s.type === 'inbound-rtp') frames += s.framesDecoded ?? 0;
      return frames;
    },
    close() {
      if (closed) return;
      closed = true;
      socket.off('rtc:newProducers', onNewProducers);
      quality.close();
      for (const c of consumers) c.close();
      receivedTracks.remove(consumers.map((c) => c.track));
      transport.close();
      video.srcObject = null;
    },
  };
}

/** A running HLS playback, whose short-lived token is renewed while the viewer keeps paying. */
export interface HlsPlayback extends Playback {
  readonly mode: 'hls';
  /** Uses `token` for every later playlist and segment request. */
  renewToken(token: string): void;
}

/** How long to wait before loading again after a fatal network error (e.g. while payments are behind). */
const HLS_RETRY_MS = 1_000;

/**
 * A request the HLS edge refused: 401 (token lapsed), 402 (payments behind), 404 (gone, e.g. a deleted replay), 429
 * (more than one player's worth at once).
 */
export interface EdgeRefusal {
  status: number;
}

/** What the HLS player needs beyond the playlist. */
export interface HlsOptions {
  /** Asks the server for a fresh token (`hls:token`) after a request was refused with 401; undefined if refused. */
  freshToken?: () => Promise<string | undefined>;
  /**
   * A recording (a replay's VOD) rather than a live stream: played from its start with seeking, and little buffered
   * ahead, since every second fetched is charged and the edge serves one player's worth at a time (429 beyond it,
   * retried here after a pause); a 404 (the recording is gone) ends loading.
   */
  vod?: boolean;
  /** Where a recording starts playing, in seconds (default its start; a rejoin carries on where it was). */
  startPosition?: number;
  /** Told each refusal of the edge as it comes, and undefined once a segment loads again. */
  onRefusal?: (refusal: EdgeRefusal | undefined) => void;
}

/** Seconds of a recording buffered ahead of the play position (the edge's bucket holds 8 one-second segments). */
const VOD_AHEAD_SECONDS = 4;

/** hls.js settings for a recording: from its start, a short buffer each way, 429 retried after a pause. */
function vodConfig(startPosition: number): Partial<HlsConfig> {
  const retry = { maxNumRetry: 30, retryDelayMs: 1_000, maxRetryDelayMs: 4_000 };
  return {
    startPosition,
    maxBufferLength: VOD_AHEAD_SECONDS,
    maxMaxBufferLength: VOD_AHEAD_SECONDS * 2,
    // Seconds seen a while ago are fetched again when sought back to (and not charged again).
    backBufferLength: VOD_AHEAD_SECONDS,
    fragLoadPolicy: {
      default: {
        maxTimeToFirstByteMs: 10_000,
        maxLoadTimeMs: 20_000,
        timeoutRetry: { maxNumRetry: 4, retryDelayMs: 0, maxRetryDelayMs: 0 },
        errorRetry: {
          ...retry,
          // hls.js retries no 4xx; a 429 only means "not yet" (the edge's bucket refills a second per second).
          shouldRetry: (config, count, _timeout, response, retried) =>
            retried || (response?.code === 429 && count < (config?.maxNumRetry ?? 0)),
        },
      },
    },
  };
}

/**
 * Plays an HLS playlist. The per-viewer token travels as a query parameter so native HLS works too; it lives ~10 s,
 * so every request (playlist reloads and segments) carries the latest one given to `renewToken`, and a request
 * refused with 401 (the token lapsed) brings a fresh one from `freshToken` before loading again. `playlistUrl` may be
 * absolute (an HLS edge) or relative to `baseUrl`.
 */
export async function playHls(
  playlistUrl: string,
  token: string,
  video: HTMLVideoElement,
  baseUrl: string,
  options: HlsOptions = {},
): Promise<HlsPlayback> {
  let current = token;
  const withToken = (u: string): string => {
    const url = new URL(u, baseUrl);
    url.searchParams.set('token', current);
    return url.toString();
  };
  let renewing: Promise<void> | undefined;
  /** One `hls:token` request at a time, however many requests were refused together. */
  const renew = (): Promise<void> => {
    renewing ??= (async () => {
      const next = await options.freshToken?.().catch(() => undefined);
      if (next) current = next;
    })().finally(() => {
      renewing = undefined;
    });
    return renewing;
  };
  const { default: Hls } = await import('hls.js');
  let hls: InstanceType<typeof Hls> | undefined;
  let quality: QualityControl | undefined;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  let native = false;
  /** Native HLS (Safari) keeps the URL it was given: a fresh token reaches it only by loading the source again. */
  const reloadNative = () => {
    if (closed) return;
    video.src = withToken(playlistUrl);
    video.play().catch(() => undefined);
  };
  if (Hls.isSupported()) {
    const config = options.vod
      ? vodConfig(options.startPosition ?? 0)
      : { liveSyncDurationCount: 2, lowLatencyMode: true };
    hls = new Hls(config);
    hls.config.xhrSetup = (xhr, url) => {
      xhr.open('GET', withToken(url), true);
    };
    // Requests are refused while payments are behind (and the token may lapse): load again until it plays.
    hls.on(Hls.Events.ERROR, (_event, data) => {
      if (closed) return;
      const status = data.response?.code;
      if (status !== undefined && status >= 400) options.onRefusal?.({ status });
      const expired = status === 401;
      // hls.js retries a refused segment on its own (with the token xhrSetup gives it): renew before it does.
      if (expired) void renew();
      if (!data.fatal) return;
      if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
        hls?.recoverMediaError();
        return;
      }
      clearTimeout(retry);
      // A recording that is gone stays gone: nothing to load again.
      if (options.vod && status === 404) {
        hls?.stopLoad();
        return;
      }
      // The playlist may not exist yet (the relay starts with the first HLS viewer): then start over.
      const manifest = data.details === Hls.ErrorDetails.MANIFEST_LOAD_ERROR;
      const again = () => {
        if (closed) return;
        if (manifest) hls?.loadSource(withToken(playlistUrl));
        else hls?.startLoad();
      };
      retry = setTimeout(
        () => {
          if (expired) renew().then(again);
          else again();
        },
        expired ? 0 : HLS_RETRY_MS,
      );
    });
    hls.on(Hls.Events.FRAG_LOADED, () => options.onRefusal?.(undefined));
    quality = hlsQualityControl(hls, Hls.Events);
    hls.loadSource(withToken(playlistUrl));
    hls.attachMedia(video);
  } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
    native = true;
    video.src = withToken(playlistUrl);
    // A refused playlist reload stops native playback with a network error: come back with a fresh token.
    video.addEventListener('error', () => {
      clearTimeout(retry);
      retry = setTimeout(() => renew().then(reloadNative), HLS_RETRY_MS);
    });
  } else {
    throw new Error('HLS is not supported by this browser');
  }
  await video.play().catch(() => undefined);
  return {
    mode: 'hls',
    quality,
    async framesDecoded() {
      return video.getVideoPlaybackQuality?.().totalVideoFrames;
    },
    renewToken(next) {
      if (next === current) return;
      current = next;
      // Reloading a playing native source restarts it: only one that stopped on a refused request is loaded again.
      if (native && (video.error !== null || video.networkState === HTMLMediaElement.NETWORK_NO_SOURCE)) reloadNative();
    },
    close() {
      if (closed) return;
      closed = true;
      clearTimeout(retry);
      hls?.destroy();
      video.removeAttribute('src');
      video.load();
    },
  };
}
