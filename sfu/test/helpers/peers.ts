// Real WebRTC peers of a Room in Node: libwebrtc from @roamhq/wrtc driven by mediasoup-client (as in a browser).

import type { types } from 'mediasoup-client';
import type { Room } from '../../src/index.ts';
import { countFrames, type FrameSize, loadDevice, startTestMedia } from './nodeWebrtc.ts';

/** A creator sending a moving 320x240 VP8 picture (~500 kbps cap) and a 440 Hz tone. */
export interface Publisher {
  videoProducerId: string;
  audioProducerId: string;
  close(): void;
}

/** A send transport of the room's publisher, signalled straight to the room. */
export async function publisherTransport(room: Room): Promise<types.Transport> {
  const device = await loadDevice(room.rtpCapabilities);
  const params = await room.createPublisherTransport();
  const send = device.createSendTransport(params);
  send.on('connect', ({ dtlsParameters }, ok, fail) => {
    room.connectTransport(send.id, dtlsParameters).then(ok, fail);
  });
  send.on('produce', ({ kind, rtpParameters }, ok, fail) => {
    room.produce(send.id, kind, rtpParameters as never).then((id) => ok({ id }), fail);
  });
  return send;
}

export async function startPublisher(room: Room): Promise<Publisher> {
  const send = await publisherTransport(room);
  const media = startTestMedia();
  const vp = await media.produce(send, 'video');
  const ap = await media.produce(send, 'audio');
  return {
    videoProducerId: vp.id,
    audioProducerId: ap.id,
    close() {
      send.close();
      media.stop();
    },
  };
}

/** A viewer decoding the room's video; `frames` counts decoded frames, `lastSize` is the newest one's size. */
export interface Viewer {
  readonly id: string;
  readonly frames: number;
  /** The viewer's video consumer. */
  readonly videoConsumerId: string | undefined;
  readonly lastSize: FrameSize | undefined;
  close(): void;
}

export async function startViewer(room: Room, viewerId: string): Promise<Viewer> {
  const device = await loadDevice(room.rtpCapabilities);
  const params = await room.addViewer(viewerId);
  const recv = device.createRecvTransport(params);
  recv.on('connect', ({ dtlsParameters }, ok, fail) => {
    room.connectTransport(recv.id, dtlsParameters).then(ok, fail);
  });
  let frames = 0;
  let lastSize: FrameSize | undefined;
  let videoConsumerId: string | undefined;
  const sinks: { stop(): void }[] = [];
  for (const c of await room.consume(viewerId, device.rtpCapabilities as never)) {
    const consumer = await recv.consume({
      id: c.id,
      producerId: c.producerId,
      kind: c.kind,
      rtpParameters: c.rtpParameters as never,
    });
    if (c.kind !== 'video') continue;
    videoConsumerId = c.id;
    sinks.push(
      countFrames(consumer.track, 'video', (size) => {
        frames++;
        lastSize = size;
      }),
    );
  }
  await room.resumeConsumer(viewerId);
  return {
    id: viewerId,
    videoConsumerId,
    get frames() {
      return frames;
    },
    get lastSize() {
      return lastSize;
    },
    close() {
      for (const s of sinks) s.stop();
      recv.close();
    },
  };
}
