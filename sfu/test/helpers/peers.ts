// Real WebRTC peers of a Room in Node: libwebrtc from @roamhq/wrtc driven by mediasoup-client (as in a browser).
import type { Room } from '../../src/index.ts';
import { countFrames, loadDevice, startTestMedia } from './nodeWebrtc.ts';

/** A creator sending a moving 320x240 VP8 picture (~500 kbps cap) and a 440 Hz tone. */
export interface Publisher {
  videoProducerId: string;
  audioProducerId: string;
  close(): void;
}

export async function startPublisher(room: Room): Promise<Publisher> {
  const device = await loadDevice(room.rtpCapabilities);
  const params = await room.createPublisherTransport();
  const send = device.createSendTransport(params);
  send.on('connect', ({ dtlsParameters }, ok, fail) => {
    room.connectTransport(send.id, dtlsParameters).then(ok, fail);
  });
  send.on('produce', ({ kind, rtpParameters }, ok, fail) => {
    room.produce(send.id, kind, rtpParameters as never).then((id) => ok({ id }), fail);
  });
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

/** A viewer decoding the room's video; `frames` counts decoded frames. */
export interface Viewer {
  readonly id: string;
  readonly frames: number;
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
  const sinks: { stop(): void }[] = [];
  for (const c of await room.consume(viewerId, device.rtpCapabilities as never)) {
    const consumer = await recv.consume({
      id: c.id,
      producerId: c.producerId,
      kind: c.kind,
      rtpParameters: c.rtpParameters as never,
    });
    if (c.kind === 'video') sinks.push(countFrames(consumer.track, 'video', () => frames++));
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
