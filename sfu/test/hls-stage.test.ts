// The stage composed into the HLS relay and the active speaker, on a real worker with real libwebrtc peers and the
// real ffmpeg: each participant sends a flat colour, and the first frame of the newest HLS segment, decoded by ffmpeg,
// must show each colour where the layout puts it. A lone host is relayed as before (its own size, nothing composed);
// the recording (on, its default) keeps the relay and carries on across every rebuild.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOST_PARTICIPANT_ID, loadSfuConfig, type Room, Sfu } from '../src/index.ts';
import { probeCodecs } from './helpers/ffprobe.ts';
import { coloursAt, type DecodedFrame, newestFrame } from './helpers/hlsFrame.ts';
import { BLUE, GREEN, RED, type StagePublisher, startStagePublisher } from './helpers/stagePeers.ts';
import { waitFor, waitForCount } from './helpers/wait.ts';

/** Composition and rebuilds take a few seconds each; a loaded machine may take several times that. */
const PICTURE_MS = 90_000;
const TEST_MS = 150_000;
/** The cameras are 4:3 (libwebrtc may scale them down under load, never changing that); the canvas is 640x360. */
const single = (f: DecodedFrame) => Math.abs(f.width / f.height - 4 / 3) < 0.05;
const composed = (f: DecodedFrame) => f.width === 640 && f.height === 360;

describe('the stage composed into HLS, and the active speaker (real worker, libwebrtc peers, ffmpeg)', () => {
  let hlsDir: string;
  let sfu: Sfu;
  let room: Room;
  const peers: StagePublisher[] = [];
  const out = () => join(hlsDir, 'stage-hls');
  let singleSeq = Number.POSITIVE_INFINITY;

  /** Polls the newest segment's first frame until `ok` holds for it (rebuilds pass through other pictures). */
  const pictureWhere = (what: string, ok: (f: DecodedFrame) => boolean) =>
    waitFor(
      what,
      async () => {
        const f = await newestFrame(out());
        return f && ok(f) ? f : undefined;
      },
      PICTURE_MS,
      700,
    );

  const start = async (id: string, spec: Parameters<typeof startStagePublisher>[2]) => {
    const p = await startStagePublisher(room, id, spec);
    peers.push(p);
    return p;
  };

  beforeAll(async () => {
    hlsDir = await mkdtemp(join(tmpdir(), 'sfu-hls-stage-'));
    sfu = await Sfu.create(
      loadSfuConfig({
        SFU_NUM_WORKERS: '1',
        LOG_LEVEL: process.env.SFU_TEST_LOG ?? 'silent',
        HLS_DIR: hlsDir,
        HLS_LINGER_SECONDS: '1',
        // One 360p rendition: the composition is what is tested, and the machine is shared.
        HLS_LADDER: 'main:360:800',
        THUMBNAIL_INTERVAL_SECONDS: '0',
      }),
    );
    room = await sfu.openRoom('stage-hls');
  });

  afterAll(async () => {
    for (const p of peers) p.close();
    await sfu?.close();
    await rm(hlsDir, { recursive: true, force: true });
  });

  it(
    'relays a lone host as before: its own picture at its own size, nothing composed',
    async () => {
      await start(HOST_PARTICIPANT_ID, { camera: RED, amplitude: 3000 });
      await room.addHlsViewer('h1');
      const f = await pictureWhere('the host alone', single);
      expect(
        coloursAt(f, [
          [4, 4],
          [32, 18],
          [60, 32],
        ]),
      ).toEqual(['red', 'red', 'red']);
      singleSeq = f.seq;
    },
    TEST_MS,
  );

  it(
    'composes a guest beside the host (grid), each colour in its half, with both microphones',
    async () => {
      const guest = await start('guest-1', { camera: BLUE, amplitude: 3000 });
      // 640x360 canvas, two 320x360 cells; the 4:3 cameras letterboxed in them.
      const f = await pictureWhere('host and guest side by side', composed);
      const grid = await pictureWhere(
        'both colours',
        (g) =>
          composed(g) &&
          coloursAt(g, [
            [16, 18],
            [48, 18],
          ]).join() === 'red,blue',
      );
      expect(
        coloursAt(grid, [
          [16, 2],
          [48, 34],
        ]),
      ).toEqual(['black', 'black']);
      // The mix is in the segments: H.264 and AAC as before.
      expect(await probeCodecs(join(out(), grid.segment))).toMatchObject({ video: ['h264'], audio: ['aac'] });
      // Numbered from the wall clock: the rebuilt relay goes on above the numbers of the one before.
      expect(f.seq).toBeGreaterThan(singleSeq);
      // Every producer of both is consumed by the relay (no WebRTC viewer here): 2 videos and the mix of 2 microphones.
      const dump = await room.originRouter.dump();
      const consumed = new Set(dump.mapProducerIdConsumerIds.filter((e) => e.values.length > 0).map((e) => e.key));
      const host = peers[0]!;
      for (const id of [
        host.producers.camera,
        host.producers.microphone,
        guest.producers.camera,
        guest.producers.microphone,
      ]) {
        expect(consumed.has(id!)).toBe(true);
      }
    },
    TEST_MS,
  );

  it(
    'shows a screen share large with the cameras small (spotlight, the default with a screen)',
    async () => {
      await start('guest-2', { screen: GREEN });
      // The screen (4:3 in the 16:9 canvas) in the middle; tiles up from the bottom-right corner: the host, the guest.
      await pictureWhere(
        'the screen with two camera tiles',
        (f) =>
          composed(f) &&
          coloursAt(f, [
            [20, 18],
            [52, 30],
            [52, 20],
          ]).join() === 'green,red,blue',
      );
    },
    TEST_MS,
  );

  it(
    'follows the layout set on the room: a grid of three, the screen first',
    async () => {
      room.setHlsLayout('grid');
      await pictureWhere(
        'three cells',
        (f) =>
          composed(f) &&
          coloursAt(f, [
            [16, 9],
            [48, 9],
            [32, 27],
            [4, 27],
          ]).join() === 'green,red,blue,black',
      );
    },
    TEST_MS,
  );

  it(
    'leaves a paused camera out, and takes it back when it resumes',
    async () => {
      room.setHlsLayout(undefined);
      const guest1 = peers[1]!;
      await room.setProducerPaused(guest1.producers.camera!, true);
      // The screen and the host's tile only: nothing blue left.
      await pictureWhere(
        'the screen with the host only',
        (f) =>
          composed(f) &&
          coloursAt(f, [
            [20, 18],
            [52, 30],
            [52, 20],
          ]).join() === 'green,red,green',
      );
      await room.setProducerPaused(guest1.producers.camera!, false);
      await pictureWhere(
        'the guest back',
        (f) =>
          composed(f) &&
          coloursAt(f, [
            [52, 30],
            [52, 20],
          ]).join() === 'red,blue',
      );
    },
    TEST_MS,
  );

  it(
    'goes back to the single picture when the guests leave, the recording carrying on',
    async () => {
      const recorder = sfu.recorder('stage-hls')!;
      const recorded = async () => recorder.info?.segments ?? 0;
      const before = await recorded();
      expect(before).toBeGreaterThan(0);
      room.closeParticipant('guest-2');
      room.closeParticipant('guest-1');
      const f = await pictureWhere('the host alone again', single);
      expect(
        coloursAt(f, [
          [4, 4],
          [32, 18],
          [60, 32],
        ]),
      ).toEqual(['red', 'red', 'red']);
      // The recording took the composed segments and goes on with the single picture's.
      await waitForCount('recorded segments after the guests left', recorded, before + 3);
    },
    TEST_MS,
  );

  it(
    'reports the louder microphone as the active speaker, and follows it',
    async () => {
      const speakers = await sfu.openRoom('stage-speaker');
      const heard: string[] = [];
      speakers.on('activeSpeaker', ({ participantId }) => heard.push(participantId));
      const prev = room;
      room = speakers;
      try {
        const host = await start(HOST_PARTICIPANT_ID, { amplitude: 0 });
        const guest = await start('guest-loud', { amplitude: 12_000 });
        // Until someone speaks mediasoup may name either (it starts from one of them): wait for the guest.
        await waitFor('the guest as the speaker', () => speakers.activeSpeaker === 'guest-loud', 30_000);
        expect(heard.at(-1)).toBe('guest-loud');
        guest.setAmplitude(0);
        host.setAmplitude(12_000);
        await waitFor('the host as the speaker', () => speakers.activeSpeaker === HOST_PARTICIPANT_ID, 30_000);
        expect(heard.at(-1)).toBe(HOST_PARTICIPANT_ID);
        // And back: each change follows the voices, not the order the producers came in.
        host.setAmplitude(0);
        guest.setAmplitude(12_000);
        await waitFor('the guest again', () => speakers.activeSpeaker === 'guest-loud', 30_000);
        expect(heard.filter((p) => p !== HOST_PARTICIPANT_ID && p !== 'guest-loud')).toEqual([]);
      } finally {
        room = prev;
        await sfu.closeRoom('stage-speaker');
      }
    },
    TEST_MS,
  );
});
