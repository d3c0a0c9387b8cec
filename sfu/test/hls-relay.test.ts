import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSfuConfig, PLAYLIST_NAME, type Room, Sfu } from '../src/index.ts';
import { parseMaster, parsePlaylist, probeCodecs, probeVideo, segmentDurations } from './helpers/ffprobe.ts';
import { type Publisher, startPublisher } from './helpers/peers.ts';
import { trackNewTimers } from './helpers/timers.ts';
import { processAlive, waitFor } from './helpers/wait.ts';

describe('HLS relay from a real WebRTC publisher (PlainTransport -> ffmpeg)', () => {
  let hlsDir: string;
  let sfu: Sfu;
  let room: Room;
  let publisher: Publisher;
  const read = async (file: string) => (await sfu.hls.read('hls-live', file))?.body.toString('utf8') ?? '';
  // The default ladder (high + low): the high rendition's playlist is rewritten at every segment.
  const playlist = () => read('high.m3u8');
  const segmentsNow = async () => parsePlaylist(await playlist()).segments;

  beforeAll(async () => {
    hlsDir = await mkdtemp(join(tmpdir(), 'sfu-hls-relay-'));
    sfu = await Sfu.create(
      loadSfuConfig({
        SFU_NUM_WORKERS: '1',
        LOG_LEVEL: process.env.SFU_TEST_LOG ?? 'silent',
        // Not recorded: a recording keeps an HLS relay (an x264 encoder) running beside what this file measures.
        RECORDING: 'off',
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
    await waitFor('3 segments', async () => ((await segmentsNow()).length >= 3 ? true : null), 20_000);
    // The longest segment the playlist lists (a segment cut at an early keyframe may be a fraction of a second).
    const durations = segmentDurations(await playlist());
    const [name, listed] = [...durations].sort((a, b) => b[1] - a[1])[0]!;
    expect(listed).toBeGreaterThan(0.3);
    const seg = await sfu.hls.read('hls-live', name);
    expect(seg?.contentType).toBe('video/mp2t');
    // Probe the bytes the reader serves (what signaling sends behind the token), not the file ffmpeg wrote.
    const served = join(hlsDir, 'served.ts');
    await writeFile(served, seg!.body);
    const codecs = await probeCodecs(served);
    expect(codecs.video).toEqual(['h264']);
    expect(codecs.audio).toEqual(['aac']);
    // The served bytes hold the media the playlist says they do.
    expect(codecs.duration).toBeGreaterThan(listed / 2);
  });

  it('lists both renditions in the master playlist, and both advance with aligned segments', async () => {
    const variants = parseMaster(await read(PLAYLIST_NAME));
    expect(variants.map((v) => v.uri)).toEqual(['high.m3u8', 'low.m3u8']);
    for (const v of variants) {
      expect(Number(v.attrs.BANDWIDTH)).toBeGreaterThan(0);
      expect(v.attrs.RESOLUTION).toMatch(/^\d+x\d+$/);
      expect(v.attrs.CODECS).toContain('avc1.');
    }
    const seqOf = (n: string) => Number(/_(\d+)\.ts$/.exec(n)?.[1]);
    const before = parsePlaylist(await read('low.m3u8')).segments.map(seqOf);
    const aligned = await waitFor(
      'new segments in both renditions',
      async () => {
        const [h, l] = [await read('high.m3u8'), await read('low.m3u8')];
        const hs = parsePlaylist(h).segments.map(seqOf);
        const ls = parsePlaylist(l).segments.map(seqOf);
        const fresh = ls.filter((s) => !before.includes(s) && hs.includes(s));
        return fresh.length >= 2 ? { fresh, hd: segmentDurations(h), ld: segmentDurations(l) } : null;
      },
      30_000,
    );
    const name = (r: string, seq: number) => `${r}_${String(seq).padStart(5, '0')}.ts`;
    for (const seq of aligned.fresh) {
      expect(aligned.hd.get(name('high', seq))).toBeCloseTo(aligned.ld.get(name('low', seq)) as number, 2);
    }
    const seq = aligned.fresh[0] as number;
    // Numbered from the wall clock (seconds at 1-s segments), so a rebuilt relay goes on above the old numbers.
    expect(seq).toBeGreaterThan(1_700_000_000);
    const [h, l] = await Promise.all(['high', 'low'].map((r) => probeVideo(join(hlsDir, 'hls-live', name(r, seq)))));
    // The same first frame in both: the one decode feeds every rendition.
    expect(Math.abs((h?.startTime as number) - (l?.startTime as number))).toBeLessThan(0.001);
    expect(l?.height).toBeLessThanOrEqual(360);
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
    const timers = trackNewTimers();
    const { live } = timers;
    try {
      await room.addHlsViewer('h2');
      const pid = room.hlsRelay!.pid!;
      const before = new Set(live);
      room.removeHlsViewer('h2'); // arms the linger timer
      expect([...live].filter((id) => !before.has(id))).toHaveLength(1);
      // As signaling ends a stream: the room, and the live thumbnail following it, closed before this resolves.
      await sfu.closeRoom('hls-live');
      expect(room.closed).toBe(true);
      expect(processAlive(pid)).toBe(false);
      expect(existsSync(join(hlsDir, 'hls-live'))).toBe(false);
      // Destroy hooks run a turn after a timer is cleared.
      await waitFor('no timer left', () => live.size === 0);
    } finally {
      timers.stop();
    }
    expect(sfu.health().rooms).toBe(0);
    expect(sfu.pool.workers[0]!.consumers).toBe(0);
  });
});
