// WebRTC in Node for tests: libwebrtc from @roamhq/wrtc installed as the browser globals mediasoup-client drives,
// synthetic media to send and frame counters on what is received. The room-level peers (./peers.ts) and the
// signaling-level peers (signaling/test/viewers-support.ts) are both built on it.
import { createRequire } from 'node:module';
import type * as Wrtc from '@roamhq/wrtc';
import { Device, type types } from 'mediasoup-client';

const wrtc = createRequire(import.meta.url)('@roamhq/wrtc') as typeof Wrtc;
Object.assign(globalThis, {
  RTCPeerConnection: wrtc.RTCPeerConnection,
  RTCSessionDescription: wrtc.RTCSessionDescription,
  RTCIceCandidate: wrtc.RTCIceCandidate,
  MediaStream: wrtc.MediaStream,
  MediaStreamTrack: wrtc.MediaStreamTrack,
});

/** A kind of media track. */
export type MediaKind = 'audio' | 'video';

/** A mediasoup-client device loaded with a router's RTP capabilities (as a Chrome browser would be). */
export async function loadDevice(routerRtpCapabilities: unknown): Promise<Device> {
  const device = new Device({ handlerName: 'Chrome111' });
  // mediasoup and mediasoup-client type the same JSON shapes separately.
  await device.load({ routerRtpCapabilities: routerRtpCapabilities as never });
  return device;
}

/** A moving 320x240 picture and a 440 Hz tone, fed by timers until stopped. */
export interface TestMedia {
  /** Produces the track of `kind` on `transport` (video capped at ~500 kbps). */
  produce(transport: types.Transport, kind: MediaKind): Promise<types.Producer>;
  /** The tracks themselves, for a peer connection of one's own (e.g. a WHIP client). */
  readonly tracks: Record<MediaKind, Wrtc.MediaStreamTrack>;
  /** Stops the timers and both tracks; safe to call twice. */
  stop(): void;
}

/** Starts the synthetic camera and microphone. */
export function startTestMedia(): TestMedia {
  const w = 320;
  const h = 240;
  const video = new wrtc.nonstandard.RTCVideoSource();
  const videoTrack = video.createTrack();
  const frame = { width: w, height: h, data: new Uint8Array(w * h * 1.5) };
  let n = 0;
  const videoTimer = setInterval(() => {
    n++;
    // A moving gradient, so every frame carries new content for the encoder.
    for (let y = 0; y < h; y++) frame.data.fill((y + n * 4) & 0xff, y * w, (y + 1) * w);
    video.onFrame(frame);
  }, 33);

  const audio = new wrtc.nonstandard.RTCAudioSource();
  const audioTrack = audio.createTrack();
  const samples = new Int16Array(480);
  let phase = 0;
  const audioTimer = setInterval(() => {
    for (let k = 0; k < 2; k++) {
      for (let i = 0; i < samples.length; i++)
        samples[i] = Math.round(8000 * Math.sin((phase++ * 2 * Math.PI * 440) / 48000));
      audio.onData({ samples, sampleRate: 48000, bitsPerSample: 16, channelCount: 1, numberOfFrames: 480 });
    }
  }, 20);

  return {
    tracks: { video: videoTrack, audio: audioTrack },
    produce: (transport, kind) =>
      kind === 'video'
        ? transport.produce({ track: videoTrack as never, encodings: [{ maxBitrate: 500_000 }] })
        : transport.produce({ track: audioTrack as never }),
    stop() {
      clearInterval(videoTimer);
      clearInterval(audioTimer);
      videoTrack.stop();
      audioTrack.stop();
    },
  };
}

/** Size of a decoded video frame. */
export interface FrameSize {
  width: number;
  height: number;
}

/** Calls `onFrame` for every frame decoded from a received track of `kind` (with its size for video); `stop()` detaches. */
export function countFrames(track: unknown, kind: MediaKind, onFrame: (size?: FrameSize) => void): { stop(): void } {
  if (kind === 'video') {
    const sink = new wrtc.nonstandard.RTCVideoSink(track as never);
    sink.onframe = ({ frame }: { frame: FrameSize }) => onFrame({ width: frame.width, height: frame.height });
    return sink;
  }
  const sink = new wrtc.nonstandard.RTCAudioSink(track as never);
  sink.ondata = () => onFrame();
  return sink;
}
