// Plays a stream into a <video>: WebRTC through mediasoup-client, or HLS through hls.js (native where supported).
import type { Consumer, Transport } from 'mediasoup-client/types';
import { request, type SignalingSocket } from '../signaling/socket.ts';
import { loadDevice, transportOptions } from './publisher.ts';

/** A running playback. */
export interface Playback {
  readonly mode: 'webrtc' | 'hls';
  /** Video frames decoded so far (WebRTC) — progress for the watch meter. */
  framesDecoded(): Promise<number | undefined>;
  /** Stops playback; safe to call twice. */
  close(): void;
}

/** Receives the stream over WebRTC; resolves once the consumers are resumed. */
export async function playWebRtc(
  socket: SignalingSocket,
  streamId: string,
  video: HTMLVideoElement,
): Promise<Playback> {
  const device = await loadDevice(socket, streamId);
  const { transport: info } = await request(socket, 'rtc:createTransport', { streamId, direction: 'recv' });
  const transport: Transport = device.createRecvTransport(transportOptions(info));
  transport.on('connect', ({ dtlsParameters }, done, fail) => {
    request(socket, 'rtc:connectTransport', { transportId: transport.id, dtlsParameters: { ...dtlsParameters } }).then(
      () => done(),
      fail,
    );
  });
  const consumers: Consumer[] = [];
  try {
    const { consumers: offered } = await request(socket, 'rtc:consume', {
      transportId: transport.id,
      rtpCapabilities: { ...device.recvRtpCapabilities },
    });
    for (const c of offered) {
      consumers.push(
        await transport.consume({
          id: c.id,
          producerId: c.producerId,
          kind: c.kind,
          rtpParameters: c.rtpParameters as Parameters<Transport['consume']>[0]['rtpParameters'],
        }),
      );
    }
    video.srcObject = new MediaStream(consumers.map((c) => c.track));
    // Consumers are created paused; resume once the track is attached so no keyframe is lost.
    for (const c of consumers) await request(socket, 'rtc:resume', { consumerId: c.id });
    await video.play().catch(() => undefined);
  } catch (err) {
    transport.close();
    throw err;
  }
  let closed = false;
  return {
    mode: 'webrtc',
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
      for (const c of consumers) c.close();
      transport.close();
      video.srcObject = null;
    },
  };
}

/** Plays an HLS playlist; the per-viewer token travels as a query parameter so native HLS works too. */
export async function playHls(playlistUrl: string, token: string, video: HTMLVideoElement): Promise<Playback> {
  const url = new URL(playlistUrl);
  url.searchParams.set('token', token);
  const { default: Hls } = await import('hls.js');
  let hls: InstanceType<typeof Hls> | undefined;
  if (Hls.isSupported()) {
    hls = new Hls({ liveSyncDurationCount: 2, lowLatencyMode: true });
    // Segment requests carry the token too (their URLs come from the playlist).
    hls.config.xhrSetup = (xhr, segmentUrl) => {
      const u = new URL(segmentUrl);
      if (!u.searchParams.has('token')) u.searchParams.set('token', token);
      xhr.open('GET', u.toString(), true);
    };
    hls.loadSource(url.toString());
    hls.attachMedia(video);
  } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
    video.src = url.toString();
  } else {
    throw new Error('HLS is not supported by this browser');
  }
  await video.play().catch(() => undefined);
  let closed = false;
  return {
    mode: 'hls',
    async framesDecoded() {
      return video.getVideoPlaybackQuality?.().totalVideoFrames;
    },
    close() {
      if (closed) return;
      closed = true;
      hls?.destroy();
      video.removeAttribute('src');
      video.load();
    },
  };
}
