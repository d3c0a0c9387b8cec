// Real WebRTC peers in Node: libwebrtc from @roamhq/wrtc driven by mediasoup-client (as in a browser).
import { createRequire } from 'node:module';
import type * as Wrtc from '@roamhq/wrtc';
import { Device } from 'mediasoup-client';
import type { Room } from '../../src/index.ts';

const wrtc = createRequire(import.meta.url)('@roamhq/wrtc') as typeof Wrtc;
Object.assign(globalThis, {
  RTCPeerConnection: wrtc.RTCPeerConnection,
  RTCSessionDescription: wrtc.RTCSessionDescription,
  RTCIceCandidate: wrtc.RTCIceCandidate,
  MediaStream: wrtc.MediaStream,
  MediaStreamTrack: wrtc.MediaStreamTrack,
});

async function loadDevice(room: Room): Promise<Device> {
  const device = new Device({ handlerName: 'Chrome111' });
  // mediasoup and mediasoup-client type the same JSON shapes separately.
  await device.load({ routerRtpCapabilities: room.rtpCapabilities as never });
  return device;
}

/** A creator sending a moving 320x240 VP8 picture (~500 kbps cap) and a 440 Hz tone. */
export interface Publisher {
  videoProducerId: string;
  audioProducerId: string;
  close(): void;
}

export async function startPublisher(room: Room): Promise<Publisher> {
  const device = await loadDevice(room);
  const params = await room.createPublisherTransport();
  const send = device.createSendTransport(params);
  send.on('connect', ({ dtlsParameters }, ok, fail) => {
    room.connectTransport(send.id, dtlsParameters).then(ok, fail);
  });
  send.on('produce', ({ kind, rtpParameters }, ok, fail) => {
    room.produce(send.id, kind, rtpParameters as never).then((id) => ok({ id }), fail);
  });

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

  const vp = await send.produce({ track: videoTrack as never, encodings: [{ maxBitrate: 500_000 }] });
  const ap = await send.produce({ track: audioTrack as never });
  return {
    videoProducerId: vp.id,
    audioProducerId: ap.id,
    close() {
      clearInterval(videoTimer);
      clearInterval(audioTimer);
      send.close();
      videoTrack.stop();
      audioTrack.stop();
    },
  };
}

/** A viewer decoding the room's video; `frames` counts decoded frames. */
export interface Viewer {
  readonly id: string;
  readonly frames: number;
  close(): void;
}

export async function startViewer(room: Room, viewerId: string): Promise<Viewer> {
  const device = await loadDevice(room);
  const params = await room.addViewer(viewerId);
  const recv = device.createRecvTransport(params);
  recv.on('connect', ({ dtlsParameters }, ok, fail) => {
    room.connectTransport(recv.id, dtlsParameters).then(ok, fail);
  });
  let frames = 0;
  const sinks: { stop(): void }[] = [];
  for (const c of await room.consume(viewerId, device.rtpCapabilities as never)) {
    const consumer = await recv.consume({
      id: c.id,
      producerId: c.producerId,
      kind: c.kind,
      rtpParameters: c.rtpParameters as never,
    });
    if (c.kind === 'video') {
      const sink = new wrtc.nonstandard.RTCVideoSink(consumer.track as never);
      sink.onframe = () => {
        frames++;
      };
      sinks.push(sink);
    }
  }
  await room.resumeConsumer(viewerId);
  return {
    id: viewerId,
    get frames() {
      return frames;
    },
    close() {
      for (const s of sinks) s.stop();
      recv.close();
    },
  };
}
