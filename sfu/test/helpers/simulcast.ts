// A simulcast publisher of a Room in Node (libwebrtc from @roamhq/wrtc driven by mediasoup-client) sending three VP8
// encodings of a moving 960x540 picture, as the studio does.
import { createRequire } from 'node:module';
import type * as Wrtc from '@roamhq/wrtc';
import type { types } from 'mediasoup-client';
import type { Room } from '../../src/index.ts';
import { publisherTransport } from './peers.ts';

const wrtc = createRequire(import.meta.url)('@roamhq/wrtc') as typeof Wrtc;

/** The studio's layers: a quarter, half and the full picture (libwebrtc sends 3 VP8 layers from 960x540 up). */
export const TEST_SIMULCAST_ENCODINGS = [
  { rid: 'r0', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: 'r1', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: 'r2', scaleResolutionDownBy: 1, maxBitrate: 1_500_000 },
];

export interface SimulcastPublisher {
  producer: types.Producer;
  close(): void;
}

/** Sends a moving picture of `width`×`height` in the three encodings on `send`, until `stop()`. */
export async function produceSimulcast(send: types.Transport, width = 960, height = 540): Promise<SimulcastPublisher> {
  const source = new wrtc.nonstandard.RTCVideoSource();
  const track = source.createTrack();
  const frame = { width, height, data: new Uint8Array(width * height * 1.5) };
  let n = 0;
  const timer = setInterval(() => {
    n++;
    // Moving bars in luma and a changing chroma plane: every frame carries new detail for the encoder.
    for (let y = 0; y < height; y++) frame.data.fill(((y >> 3) * 16 + n * 5) & 0xff, y * width, (y + 1) * width);
    frame.data.fill(n & 0xff, width * height);
    source.onFrame(frame);
  }, 33);
  const producer = await send.produce({ track: track as never, encodings: TEST_SIMULCAST_ENCODINGS });
  return {
    producer,
    close() {
      clearInterval(timer);
      send.close();
      track.stop();
    },
  };
}

/** A creator of `room` sending the three encodings straight to the room. */
export async function startSimulcastPublisher(room: Room, width = 960, height = 540): Promise<SimulcastPublisher> {
  return produceSimulcast(await publisherTransport(room), width, height);
}
