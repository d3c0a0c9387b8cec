import { createHook } from 'node:async_hooks';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSfuConfig, PLAYLIST_NAME, type Room, Sfu } from '../src/index.ts';
import { parsePlaylist, probeCodecs } from './helpers/ffprobe.ts';
import { type Publisher, startPublisher } from './helpers/peers.ts';
import { processAlive, waitFor } from './helpers/wait.ts';

describe('HLS relay from a real WebRTC publisher (PlainTransport -> ffmpeg)', () => {
  let hlsDir: string;
  let sfu: Sfu;
  let room: Room;
  let publisher: Publisher;
  const playlist = async () => (await sfu.hls.read('hls-live', PLAYLIST_NAME))?.body.toString('utf8') ?? '';
  const segmentsNow = async () => parsePlaylist(await playlist()).segments;

  beforeAll(async () => {
    hlsDir = await mkdtemp(join(tmpdir(), 'sfu-hls-relay-'));
    sfu = await Sfu.create(
      loadSfuConfig({
        SFU_NUM_WORKERS: '1',
        LOG_LEVEL: process.env.SFU_TEST_LOG ?? 'silent',
        HLS_DIR: hlsDir,
        HLS_LINGER_SECONDS: '1',
      }),
    );
    room = await sfu.openRoom('hls-live');
    publisher = await startPublisher(room);
  });

  afterAll(async () => {
    publisher?.close();
    await sfu?.close();
    await rm(hlsDir, { recursive: true, force: true });
  });

  it('produces a live playlist whose segments probe as H.264 + AAC', async () => {
    await room.addHlsViewer('h1');
    expect(room.hlsRelay?.pid).toBeGreaterThan(0);
    const segs = await waitFor(
      '3 segments',
      async () => ((await segmentsNow()).length >= 3 ? segmentsNow() : null),
      20_000,
    );
    const name = segs.at(-2)!;
    const seg = await sfu.hls.read('hls-live', name);
    expect(seg?.contentType).toBe('video/mp2t');
    // Probe the bytes the reader serves (what signaling sends behind the token), not the file ffmpeg wrote.
    const served = join(hlsDir, 'served.ts');
    await writeFile(served, seg!.body);
    const codecs = await probeCodecs(served);
    expect(codecs.video).toEqual(['h264']);
    expect(codecs.audio).toEqual(['aac']);
    expect(codecs.duration).toBeGreaterThan(0.3);
  });

  it('brings the playlist back after ffmpeg is killed mid-stream, restarted after the first back-off step', async () => {
    const relay = room.hlsRelay!;
    const oldPid = relay.pid!;
    const last = (await segmentsNow()).at(-1);
    const restarted = new Promise((r) => room.once('hlsRestart', r));
    process.kill(oldPid, 'SIGKILL');
    // The relay's own account: its first attempt, after the first (shortest) back-off delay (FfmpegHls's default).
    expect(await restarted).toEqual({ attempt: 1, delayMs: 250 });
    await waitFor(
      'a new segment after the restart',
      async () => relay.pid !== oldPid && (await segmentsNow()).at(-1) !== last,
      30_000,
    );
    expect(processAlive(oldPid)).toBe(false);
    expect(relay.restarts).toBe(1);
  });

  it('rebuilds the relay when the creator republishes', async () => {
    const oldPid = room.hlsRelay!.pid!;
    const stopped = new Promise<void>((r) => room.once('hlsStopped', () => r()));
    room.closeProducer(publisher.videoProducerId);
    room.closeProducer(publisher.audioProducerId);
    publisher.close();
    await stopped;
    expect(processAlive(oldPid)).toBe(false);
    publisher = await startPublisher(room);
    const relay = await waitFor('a new relay', () => room.hlsRelay, 10_000);
    expect(relay.pid).not.toBe(oldPid);
    await waitFor('segments from the new publisher', async () => (await segmentsNow()).length >= 2, 20_000);
  });

  it('stops ffmpeg and removes the output after the last HLS viewer leaves and the linger time passes', async () => {
    const pid = room.hlsRelay!.pid!;
    const stopped = new Promise<void>((r) => room.once('hlsStopped', () => r()));
    room.removeHlsViewer('h1');
    expect(processAlive(pid)).toBe(true);
    await stopped;
    expect(room.hlsRelay).toBeUndefined();
    expect(processAlive(pid)).toBe(false);
    expect(existsSync(join(hlsDir, 'hls-live'))).toBe(false);
  });

  it('stops the relay when the stream ends, leaving no process, timer or file behind', async () => {
    // The timers created from here on, until cleared or run: counting every timer of the process instead would see
    // unrelated ones expire meanwhile on a slow machine.
    const live = new Set<number>();
    const timers = createHook({
      init: (id, type) => {
        if (type === 'Timeout') live.add(id);
      },
      destroy: (id) => {
        live.delete(id);
      },
    }).enable();
    try {
      await room.addHlsViewer('h2');
      const pid = room.hlsRelay!.pid!;
      const before = new Set(live);
      room.removeHlsViewer('h2'); // arms the linger timer
      expect([...live].filter((id) => !before.has(id))).toHaveLength(1);
      await room.close();
      expect(processAlive(pid)).toBe(false);
      expect(existsSync(join(hlsDir, 'hls-live'))).toBe(false);
      // Destroy hooks run a turn after a timer is cleared.
      await waitFor('no timer left', () => live.size === 0);
    } finally {
      timers.disable();
    }
    expect(sfu.health().rooms).toBe(0);
    expect(sfu.pool.workers[0]!.consumers).toBe(0);
  });
});
