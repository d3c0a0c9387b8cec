// Participants of a stage as real WebRTC peers (libwebrtc from @roamhq/wrtc driven by mediasoup-client): each sends
// a picture of one flat colour and a tone of a loudness that can be changed, as a named participant of the room, so a
// composed picture and the active speaker can be checked from what comes out.
import { createRequire } from 'node:module';
import type * as Wrtc from '@roamhq/wrtc';
import type { types } from 'mediasoup-client';
import type { ProducerSource, Room } from '../../src/index.ts';
import { loadDevice } from './nodeWebrtc.ts';

const wrtc = createRequire(import.meta.url)('@roamhq/wrtc') as typeof Wrtc;

/** An RGB colour, 0–255 each. */
export interface Rgb {
  r: number;
  g: number;
  b: number;
}

export const RED: Rgb = { r: 230, g: 20, b: 20 };
export const BLUE: Rgb = { r: 20, g: 20, b: 230 };
export const GREEN: Rgb = { r: 20, g: 220, b: 20 };

/** A participant publishing on its own send transport. */
export interface StagePublisher {
  readonly participantId: string;
  /** Producer ids by source. */
  readonly producers: Partial<Record<ProducerSource, string>>;
  /** The voice's peak amplitude (0 = only the room's faint noise, 32767 = full scale). */
  setAmplitude(amplitude: number): void;
  close(): void;
}

/** What a participant sends: a camera and/or a screen (each a flat colour, 320x240) and/or a microphone tone. */
export interface StageMediaSpec {
  camera?: Rgb;
  screen?: Rgb;
  /** Peak amplitude of a 300 Hz tone spoken in bursts over faint noise; no microphone when undefined. */
  amplitude?: number;
}

/** BT.601 limited-range Y, U, V of a colour (what a camera's I420 frames carry). */
function yuvOf({ r, g, b }: Rgb): [number, number, number] {
  const y = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255;
  const u = 128 + (-37.797 * r - 74.203 * g + 112 * b) / 255;
  const v = 128 + (112 * r - 93.786 * g - 18.214 * b) / 255;
  return [Math.round(y), Math.round(u), Math.round(v)];
}

/** A 320x240 track of one colour at ~30 fps. */
function colourTrack(colour: Rgb, timers: NodeJS.Timeout[]): Wrtc.MediaStreamTrack {
  const w = 320;
  const h = 240;
  const source = new wrtc.nonstandard.RTCVideoSource();
  const data = new Uint8Array(w * h * 1.5);
  const [y, u, v] = yuvOf(colour);
  data.fill(y, 0, w * h);
  data.fill(u, w * h, w * h * 1.25);
  data.fill(v, w * h * 1.25);
  timers.push(setInterval(() => source.onFrame({ width: w, height: h, data }), 33));
  return source.createTrack();
}

/** Starts a participant of `room` sending what `spec` says (signalled straight to the room). */
export async function startStagePublisher(
  room: Room,
  participantId: string,
  spec: StageMediaSpec,
): Promise<StagePublisher> {
  const device = await loadDevice(room.rtpCapabilities);
  const send: types.Transport = device.createSendTransport(await room.createPublisherTransport(participantId));
  send.on('connect', ({ dtlsParameters }, ok, fail) => {
    room.connectTransport(send.id, dtlsParameters).then(ok, fail);
  });
  send.on('produce', ({ kind, rtpParameters, appData }, ok, fail) => {
    room.produce(send.id, kind, rtpParameters as never, appData.source as never).then((id) => ok({ id }), fail);
  });
  const timers: NodeJS.Timeout[] = [];
  const tracks: Wrtc.MediaStreamTrack[] = [];
  const producers: Partial<Record<ProducerSource, string>> = {};
  let amplitude = spec.amplitude ?? 0;
  for (const source of ['camera', 'screen'] as const) {
    const colour = spec[source];
    if (!colour) continue;
    const track = colourTrack(colour, timers);
    tracks.push(track);
    const p = await send.produce({ track: track as never, encodings: [{ maxBitrate: 300_000 }], appData: { source } });
    producers[source] = p.id;
  }
  if (spec.amplitude !== undefined) {
    const audio = new wrtc.nonstandard.RTCAudioSource();
    const track = audio.createTrack();
    tracks.push(track);
    const samples = new Int16Array(480);
    let phase = 0;
    timers.push(
      setInterval(() => {
        for (let k = 0; k < 2; k++) {
          // Like speech over a quiet room: 300 ms of tone, 200 ms of the room's noise. mediasoup's active speaker
          // detection takes a level that never varies for the speaker's noise floor, as it should.
          const talking = phase % 24_000 < 14_400;
          for (let i = 0; i < samples.length; i++) {
            const tone = talking ? amplitude * Math.sin((phase * 2 * Math.PI * 300) / 48000) : 0;
            samples[i] = Math.round(tone + (Math.random() - 0.5) * 60);
            phase++;
          }
          audio.onData({ samples, sampleRate: 48000, bitsPerSample: 16, channelCount: 1, numberOfFrames: 480 });
        }
      }, 20),
    );
    const p = await send.produce({ track: track as never, appData: { source: 'microphone' } });
    producers.microphone = p.id;
  }
  let closed = false;
  return {
    participantId,
    producers,
    setAmplitude(a) {
      amplitude = a;
    },
    close() {
      if (closed) return;
      closed = true;
      for (const t of timers) clearInterval(t);
      for (const t of tracks) t.stop();
      send.close();
    },
  };
}
