import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { types } from 'mediasoup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSfuConfig, type Room, Sfu, type Thumbnailer } from '../src/index.ts';
import { averageColour, jpegSize } from './helpers/jpeg.ts';
import { type RtpSender, startRtpSender } from './helpers/rtpSender.ts';
import { type SimulcastPublisher, startSimulcastPublisher } from './helpers/simulcast.ts';
import { processAlive, waitFor, waitForCount } from './helpers/wait.ts';

/** Whether a UDP port on loopback can be bound (nobody holds it). */
function udpPortFree(port: number): Promise<boolean> {
  const socket = createSocket('udp4');
  return new Promise((resolve) => {
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, '127.0.0.1', () => {
      socket.close();
      resolve(true);
    });
  });
}

/** One worker, HLS (and thumbnails) under `hlsDir`, a thumbnail every `interval` seconds. */
function startSfu(hlsDir: string, interval: string): Promise<Sfu> {
  return Sfu.create(
    loadSfuConfig({
      SFU_NUM_WORKERS: '1',
      LOG_LEVEL: process.env.SFU_TEST_LOG ?? 'silent',
      // Not recorded: a recording keeps an HLS relay (an x264 encoder) running beside what this file measures.
      RECORDING: 'off',
      HLS_DIR: hlsDir,
      THUMBNAIL_INTERVAL_SECONDS: interval,
    }),
  );
}

const isRed = (c: { r: number; g: number; b: number }) => c.r > 180 && c.g < 80 && c.b < 80;

/** What a thumbnailer holds, to check it is all gone once it closed. */
function holdings(t: Thumbnailer) {
  return { pid: t.pid as number, port: t.port as number };
}

async function expectReleased(held: { pid: number; port: number }, transports: types.Transport[]) {
  await waitFor('the thumbnail ffmpeg gone', () => !processAlive(held.pid), 10_000);
  expect(await udpPortFree(held.port)).toBe(true);
  expect(await udpPortFree(held.port + 1)).toBe(true);
  expect(transports.every((t) => t.closed)).toBe(true);
}

describe('live thumbnails (real mediasoup worker, real ffmpeg)', () => {
  let hlsDir: string;
  let sfu: Sfu;
  /** The thumbnailers' PlainTransports, by room (appData.role thumbnail). */
  const thumbnailTransports = new Map<string, types.Transport[]>();
  const senders: RtpSender[] = [];
  let simulcast: SimulcastPublisher | undefined;

  const open = async (streamId: string): Promise<Room> => {
    const room = await sfu.openRoom(streamId);
    const list: types.Transport[] = [];
    thumbnailTransports.set(streamId, list);
    room.originRouter.observer.on('newtransport', (t) => {
      if (t.appData.role === 'thumbnail') list.push(t);
    });
    return room;
  };
  const thumbnailer = (streamId: string) =>
    waitFor('a thumbnailer', () => sfu.roomThumbnail(streamId)?.thumbnailer, 20_000);
  const mtime = async (file: string) => (await stat(file)).mtimeMs;

  beforeAll(async () => {
    hlsDir = await mkdtemp(join(tmpdir(), 'sfu-thumbnails-'));
    sfu = await startSfu(hlsDir, '2');
  });

  afterAll(async () => {
    simulcast?.close();
    for (const s of senders) await s.close();
    await sfu?.close();
    await rm(hlsDir, { recursive: true, force: true });
  });

  it('an ffmpeg RTP sender: a JPEG of THUMBNAIL_HEIGHT with an even width, of its picture', async () => {
    const room = await open('thumb-rtp');
    const red = await startRtpSender(room, 'color=c=red:size=320x240:rate=15');
    senders.push(red);
    expect(sfu.thumbnail('thumb-rtp')).toBeNull();
    const file = await waitFor('the first picture', () => sfu.thumbnail('thumb-rtp'), 30_000);
    expect(file).toBe(join(hlsDir, '.thumbnails', 'thumb-rtp.jpg'));
    // 320x240 scaled to the default height of 180, the width following the aspect ratio.
    expect(jpegSize(await readFile(file))).toEqual({ width: 240, height: 180 });
    expect(isRed(await averageColour(file))).toBe(true);
    expect((await thumbnailer('thumb-rtp')).producerId).toBe(red.producerId);
  });

  it('keeps to the first video producer, moves to the next when it closes, and follows the new picture', async () => {
    const room = sfu.getRoom('thumb-rtp') as Room;
    const file = sfu.thumbnail('thumb-rtp') as string;
    const first = await thumbnailer('thumb-rtp');
    const held = holdings(first);
    const moving = await startRtpSender(room, 'testsrc2=size=320x240:rate=15');
    senders.push(moving);
    // A second video producer changes nothing while the first one lives.
    await waitForCount('packets from the second sender', () => moving.packets(), 30);
    expect(sfu.roomThumbnail('thumb-rtp')?.thumbnailer).toBe(first);
    expect(isRed(await averageColour(file))).toBe(true);

    await senders.shift()?.close();
    const next = await waitFor(
      'a thumbnailer of the second sender',
      () => {
        const t = sfu.roomThumbnail('thumb-rtp')?.thumbnailer;
        return t?.producerId === moving.producerId ? t : undefined;
      },
      20_000,
    );
    await expectReleased(held, thumbnailTransports.get('thumb-rtp')?.slice(0, 1) ?? []);
    expect(next.pid).not.toBe(held.pid);
    await waitFor('a picture of the second sender', async () => !isRed(await averageColour(file)), 30_000);

    // A moving picture: each new picture differs from the one before.
    const before = await readFile(file);
    const beforeAt = await mtime(file);
    await waitFor('a newer, different picture', async () => (await mtime(file)) > beforeAt, 30_000);
    expect((await readFile(file)).equals(before)).toBe(false);
    expect(jpegSize(await readFile(file))).toEqual({ width: 240, height: 180 });
  });

  it('a WebRTC simulcast publisher: the smallest layer, a new picture at each keyframe it is asked for', async () => {
    const room = await open('thumb-simulcast');
    simulcast = await startSimulcastPublisher(room);
    const t = await thumbnailer('thumb-simulcast');
    const file = await waitFor('the first picture', () => sfu.thumbnail('thumb-simulcast'), 45_000);
    // 960x540 sent; a 16:9 picture at the height of 180, whichever layer size the sender's load left.
    expect(jpegSize(await readFile(file))).toEqual({ width: 320, height: 180 });
    expect(t.currentLayers?.spatialLayer).toBe(0);
    // libwebrtc sends keyframes only when asked: pictures keep coming because the thumbnailer asks every 2 s.
    let pictures = 0;
    t.on('picture', () => pictures++);
    await waitForCount('new pictures', async () => pictures, 2, { firstMs: 30_000, stallMs: 30_000 });
  });

  it('closes with the room: no ffmpeg, transport, UDP port or picture left', async () => {
    const t = await thumbnailer('thumb-simulcast');
    const held = holdings(t);
    const file = sfu.thumbnail('thumb-simulcast') as string;
    expect(processAlive(held.pid)).toBe(true);
    await sfu.closeRoom('thumb-simulcast');
    expect(processAlive(held.pid)).toBe(false);
    await expectReleased(held, thumbnailTransports.get('thumb-simulcast') ?? []);
    expect(existsSync(file)).toBe(false);
    expect(existsSync(`${file}.tmp`)).toBe(false);
    expect(sfu.thumbnail('thumb-simulcast')).toBeNull();
    expect(sfu.roomThumbnail('thumb-simulcast')).toBeUndefined();
    expect(t.closed).toBe(true);
  });
});

describe('THUMBNAIL_INTERVAL_SECONDS=0', () => {
  let hlsDir: string;
  let sfu: Sfu;
  let sender: RtpSender | undefined;

  beforeAll(async () => {
    hlsDir = await mkdtemp(join(tmpdir(), 'sfu-thumbnails-off-'));
    sfu = await startSfu(hlsDir, '0');
  });

  afterAll(async () => {
    await sender?.close();
    await sfu?.close();
    await rm(hlsDir, { recursive: true, force: true });
  });

  it('takes no thumbnail: no transport, no process, no file', async () => {
    const room = await sfu.openRoom('thumb-off');
    sender = await startRtpSender(room, 'color=c=red:size=320x240:rate=15');
    // 45 frames at 15 fps: three seconds of media, with three keyframes (one a second), a picture's worth each.
    await waitForCount('packets from the sender', () => (sender as RtpSender).packets(), 45);
    expect(sfu.thumbnail('thumb-off')).toBeNull();
    expect(sfu.roomThumbnail('thumb-off')).toBeUndefined();
    expect((await room.originRouter.dump()).transportIds).toHaveLength(1);
    expect(existsSync(join(hlsDir, '.thumbnails'))).toBe(false);
  });
});
