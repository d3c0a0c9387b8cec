// Real peers for the viewer-flow tests: a creator publishing over its signaling socket (libwebrtc from @roamhq/wrtc driven by
// mediasoup-client, as in sfu/test/helpers/peers.ts) and a viewer receiving over the signaling socket.
import { createRequire } from 'node:module';
import type * as Wrtc from '@roamhq/wrtc';
import { Device } from 'mediasoup-client';
import type { Socket } from 'socket.io-client';

const wrtc = createRequire(import.meta.url)('@roamhq/wrtc') as typeof Wrtc;
Object.assign(globalThis, {
  RTCPeerConnection: wrtc.RTCPeerConnection,
  RTCSessionDescription: wrtc.RTCSessionDescription,
  RTCIceCandidate: wrtc.RTCIceCandidate,
  MediaStream: wrtc.MediaStream,
  MediaStreamTrack: wrtc.MediaStreamTrack,
});

/** An ack as the server sends it. */
export interface AckJson {
  ok: boolean;
  code?: string;
  message?: string;
  details?: Record<string, string>;
  [key: string]: unknown;
}

/** Emits a request and resolves with its ack. */
export function call(socket: Socket, event: string, payload: unknown): Promise<AckJson> {
  return new Promise((resolve) => socket.emit(event, payload, resolve));
}

/** Emits a request and resolves with its ack, failing unless it is ok. */
export async function callOk(socket: Socket, event: string, payload: unknown): Promise<AckJson> {
  const res = await call(socket, event, payload);
  if (!res.ok) throw new Error(`${event} refused: ${res.code} ${res.message}`);
  return res;
}

/** A creator sending a moving 320x240 VP8 picture and a 440 Hz tone into a room. */
export interface Publisher {
  producerIds: string[];
  /** Starts sending a track of `kind` it does not send yet (e.g. the microphone after the camera). */
  add(kind: 'audio' | 'video'): Promise<string>;
  close(): void;
}

/** Publishes `kinds` through the signaling socket of the stream's creator, as the dapp's studio does. */
export async function startPublisher(
  socket: Socket,
  streamId: string,
  kinds: readonly ('audio' | 'video')[] = ['video', 'audio'],
): Promise<Publisher> {
  const caps = await callOk(socket, 'rtc:capabilities', { streamId });
  const device = new Device({ handlerName: 'Chrome111' });
  await device.load({ routerRtpCapabilities: caps.routerRtpCapabilities as never });
  const { transport } = (await callOk(socket, 'rtc:createTransport', { streamId, direction: 'send' })) as {
    transport: never;
  } & AckJson;
  const send = device.createSendTransport(transport);
  send.on('connect', ({ dtlsParameters }, ok, fail) => {
    callOk(socket, 'rtc:connectTransport', { transportId: send.id, dtlsParameters }).then(() => ok(), fail);
  });
  send.on('produce', ({ kind, rtpParameters }, ok, fail) => {
    callOk(socket, 'rtc:produce', { transportId: send.id, kind, rtpParameters }).then(
      (res) => ok({ id: res.producerId as string }),
      fail,
    );
  });
  const w = 320;
  const h = 240;
  const video = new wrtc.nonstandard.RTCVideoSource();
  const videoTrack = video.createTrack();
  const frame = { width: w, height: h, data: new Uint8Array(w * h * 1.5) };
  let n = 0;
  const videoTimer = setInterval(() => {
    n++;
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
  const producerIds: string[] = [];
  const add = async (kind: 'audio' | 'video'): Promise<string> => {
    const producer =
      kind === 'video'
        ? await send.produce({ track: videoTrack as never, encodings: [{ maxBitrate: 500_000 }] })
        : await send.produce({ track: audioTrack as never });
    producerIds.push(producer.id);
    return producer.id;
  };
  for (const kind of kinds) await add(kind);
  return {
    producerIds,
    add,
    close() {
      clearInterval(videoTimer);
      clearInterval(audioTimer);
      send.close();
      videoTrack.stop();
      audioTrack.stop();
    },
  };
}

/** A WebRTC viewer driven through the signaling socket; `frames` counts decoded video frames, `audioFrames` audio. */
export interface RtcViewer {
  readonly frames: number;
  readonly audioFrames: number;
  /** Kinds of the consumers it received, in order. */
  readonly kinds: readonly ('audio' | 'video')[];
  close(): void;
}

/**
 * Runs the viewer side of `rtc:*` after an admitted `viewer:join` (mode webrtc). With `follow`, it consumes the
 * producers announced later by `rtc:newProducers`, as the dapp does.
 */
export async function startRtcViewer(
  socket: Socket,
  streamId: string,
  opts: { follow?: boolean } = {},
): Promise<RtcViewer> {
  const caps = await callOk(socket, 'rtc:capabilities', { streamId });
  const device = new Device({ handlerName: 'Chrome111' });
  await device.load({ routerRtpCapabilities: caps.routerRtpCapabilities as never });
  const { transport } = (await callOk(socket, 'rtc:createTransport', { streamId, direction: 'recv' })) as {
    transport: never;
  } & AckJson;
  const recv = device.createRecvTransport(transport);
  recv.on('connect', ({ dtlsParameters }, ok, fail) => {
    callOk(socket, 'rtc:connectTransport', { transportId: recv.id, dtlsParameters }).then(() => ok(), fail);
  });
  let frames = 0;
  let audioFrames = 0;
  const kinds: ('audio' | 'video')[] = [];
  const sinks: { stop(): void }[] = [];
  let closed = false;
  const consumeAll = async (): Promise<void> => {
    const { consumers } = (await callOk(socket, 'rtc:consume', {
      transportId: recv.id,
      rtpCapabilities: device.rtpCapabilities,
    })) as { consumers: { id: string; producerId: string; kind: 'audio' | 'video'; rtpParameters: never }[] } & AckJson;
    for (const c of consumers) {
      if (closed) return;
      const consumer = await recv.consume(c);
      kinds.push(c.kind);
      if (c.kind === 'video') {
        const sink = new wrtc.nonstandard.RTCVideoSink(consumer.track as never);
        sink.onframe = () => {
          frames++;
        };
        sinks.push(sink);
      } else {
        const sink = new wrtc.nonstandard.RTCAudioSink(consumer.track as never);
        sink.ondata = () => {
          audioFrames++;
        };
        sinks.push(sink);
      }
      await callOk(socket, 'rtc:resume', { consumerId: c.id });
    }
  };
  // One consume at a time: announcements that arrive together are answered by one call.
  let consuming = consumeAll();
  await consuming;
  const onNewProducers = () => {
    consuming = consuming.then(consumeAll).catch(() => undefined);
  };
  if (opts.follow) socket.on('rtc:newProducers', onNewProducers);
  return {
    get frames() {
      return frames;
    },
    get audioFrames() {
      return audioFrames;
    },
    kinds,
    close() {
      closed = true;
      socket.off('rtc:newProducers', onNewProducers);
      for (const s of sinks) s.stop();
      recv.close();
    },
  };
}
