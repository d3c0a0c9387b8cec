import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSfuConfig, parseMediaPlaylist, Sfu } from '../src/index.ts';
import { parseMaster, probeCodecs } from './helpers/ffprobe.ts';
import { type Publisher, startPublisher } from './helpers/peers.ts';
import { openFilesUnder, probePackets, probePacketsThrough, readRecordingPlaylist } from './helpers/recordingProbe.ts';
import { startRtpSender } from './helpers/rtpSender.ts';
import { trackNewTimers } from './helpers/timers.ts';
import { processAlive, waitFor, waitForCount } from './helpers/wait.ts';

const CHILD = join(import.meta.dirname, 'helpers', 'recordingChild.ts');

describe('recording a stream from the HLS relay (real worker, WebRTC / RTP creators, ffmpeg)', () => {
  let hlsDir: string;
  let sfu: Sfu;
  const recDir = (id: string) => join(hlsDir, '.recordings', id);

  beforeAll(async () => {
    hlsDir = await mkdtemp(join(tmpdir(), 'sfu-recording-'));
    // RECORDING is left to its default (on); the default ladder (high + low).
    sfu = await Sfu.create(
      loadSfuConfig({
        SFU_NUM_WORKERS: '1',
        LOG_LEVEL: process.env.SFU_TEST_LOG ?? 'silent',
        HLS_DIR: hlsDir,
        HLS_LINGER_SECONDS: '1',
        THUMBNAIL_INTERVAL_SECONDS: '0',
      }),
    );
  });

  afterAll(async () => {
    await sfu?.close();
    await rm(hlsDir, { recursive: true, force: true });
  });

  it('records what HLS viewers get, across an ffmpeg crash, as a VOD whose seconds are the streamed ones', async () => {
    expect(sfu.config.recording).toBe(true);
    const room = await sfu.openRoom('rec-live');
    let publisher: Publisher | undefined;
    // What the live relay lists, watched from outside at 5 Hz: the union of its segments is what was streamed.
    const streamed = new Map<string, number>();
    const watch = setInterval(async () => {
      const text = await readFile(join(hlsDir, 'rec-live', 'high.m3u8'), 'utf8').catch(() => '');
      for (const e of parseMediaPlaylist(text).entries) streamed.set(e.uri, e.duration);
    }, 200);
    try {
      publisher = await startPublisher(room);
      // Nobody watches over HLS: the recording alone keeps the relay running.
      const relay = await waitFor('the relay kept by the recording', () => room.hlsRelay, 30_000);
      expect(room.hlsViewerIds).toEqual([]);
      const recorder = sfu.recorder('rec-live')!;
      const recorded = async () => recorder.info?.segments ?? 0;
      await waitForCount('recorded segments', recorded, 4);
      const killed = relay.pid!;
      const restarted = new Promise((r) => room.once('hlsRestart', r));
      process.kill(killed, 'SIGKILL');
      await restarted;
      const before = await recorded();
      await waitForCount('segments recorded after the crash', recorded, before + 4);
      const restartedPid = relay.pid!;
      const ending = performance.now();
      await sfu.closeRoom('rec-live');
      const availableMs = performance.now() - ending;
      console.info(`recording: VOD ready ${availableMs.toFixed(0)} ms after closeRoom was called`);
      expect(processAlive(killed)).toBe(false);
      expect(processAlive(restartedPid)).toBe(false);
    } finally {
      clearInterval(watch);
      publisher?.close();
    }
    const dir = recDir('rec-live');
    expect(existsSync(join(hlsDir, 'rec-live'))).toBe(false);
    const variants = parseMaster(await readFile(join(dir, 'index.m3u8'), 'utf8'));
    expect(variants.map((v) => v.uri)).toEqual(['high.m3u8', 'low.m3u8']);
    const [high, low] = await Promise.all(['high', 'low'].map((r) => readRecordingPlaylist(join(dir, `${r}.m3u8`))));
    for (const p of [high!, low!]) {
      expect(p.ended).toBe(true);
      expect(p.text).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
      // The ffmpeg restart is a new encoder run for players.
      expect(p.discontinuities).toBeGreaterThanOrEqual(1);
    }
    // Own numbers from 0, the same in both renditions (segment N is the same media time in each).
    expect(high!.entries.map((e) => e.uri)).toEqual(
      high!.entries.map((_, i) => `high_${String(i).padStart(5, '0')}.ts`),
    );
    expect(low!.entries.map((e) => e.uri.replace('low_', 'high_'))).toEqual(high!.entries.map((e) => e.uri));
    const longest = Math.max(...high!.entries.map((e) => e.duration));
    const streamedSeconds = [...streamed.values()].reduce((a, b) => a + b, 0);
    expect(streamed.size).toBeGreaterThanOrEqual(8);
    expect(Math.abs(high!.seconds - streamedSeconds)).toBeLessThanOrEqual(longest);
    // A player's view: ffprobe through the master playlist.
    const probed = await probeCodecs(join(dir, 'index.m3u8'));
    expect(new Set(probed.video)).toEqual(new Set(['h264']));
    expect(new Set(probed.audio)).toEqual(new Set(['aac']));
    expect(Math.abs(probed.duration - high!.seconds)).toBeLessThanOrEqual(longest);
    const info = await sfu.recordings.read('rec-live');
    const files = (await readdir(dir)).filter((f) => f.endsWith('.ts'));
    const bytes = (await Promise.all(files.map((f) => stat(join(dir, f))))).reduce((n, s) => n + s.size, 0);
    expect(info).toMatchObject({ streamId: 'rec-live', segments: high!.entries.length, bytes });
    expect(info?.endedAt).not.toBeNull();
    expect(info?.durationSeconds).toBeCloseTo(high!.seconds, 3);
    const perMinute = async (r: string) => {
      const sizes = await Promise.all(files.filter((f) => f.startsWith(`${r}_`)).map((f) => stat(join(dir, f))));
      return Math.round((sizes.reduce((n, x) => n + x.size, 0) / high!.seconds) * 60);
    };
    console.info(
      `recording: ${high!.seconds.toFixed(1)} s of a 320x240 WebRTC source, bytes per recorded minute: high ${await perMinute('high')}, low ${await perMinute('low')}`,
    );
  });

  it('records nothing when the stream is opened with recording off, and the relay is not kept', async () => {
    const room = await sfu.openRoom('rec-off', { recording: false });
    const publisher = await startPublisher(room);
    try {
      expect(sfu.recorder('rec-off')).toBeUndefined();
      await room.addHlsViewer('h1');
      await waitFor(
        '3 live segments',
        async () => {
          const text = await readFile(join(hlsDir, 'rec-off', 'high.m3u8'), 'utf8').catch(() => '');
          return parseMediaPlaylist(text).entries.length >= 3;
        },
        30_000,
      );
      const stopped = new Promise<void>((r) => room.once('hlsStopped', () => r()));
      room.removeHlsViewer('h1');
      await stopped;
      await sfu.closeRoom('rec-off');
    } finally {
      publisher.close();
    }
    expect(existsSync(recDir('rec-off'))).toBe(false);
  });

  it('closes with the room leaving no process, timer or open file', async () => {
    const timers = trackNewTimers();
    let sender: Awaited<ReturnType<typeof startRtpSender>> | undefined;
    try {
      const room = await sfu.openRoom('rec-close');
      const recorder = sfu.recorder('rec-close')!;
      sender = await startRtpSender(room, 'testsrc2=size=320x240:rate=15');
      await waitForCount('recorded segments', async () => recorder.info?.segments ?? 0, 3);
      const pid = room.hlsRelay!.pid!;
      await sfu.closeRoom('rec-close');
      await sender.close();
      expect(recorder.closed).toBe(true);
      await recorder.close();
      expect(processAlive(pid)).toBe(false);
      expect(await openFilesUnder(join(hlsDir, '.recordings'))).toEqual([]);
      await waitFor('the recorder forgotten', () => sfu.recorder('rec-close') === undefined);
      await waitFor('no timer left', () => timers.live.size === 0);
    } finally {
      timers.stop();
      await sender?.close();
    }
    expect(parseMediaPlaylist(await readFile(join(recDir('rec-close'), 'high.m3u8'), 'utf8')).ended).toBe(true);
  });

  it('a node killed mid-recording leaves a recording that plays up to the kill; the next start ends it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sfu-recording-crash-'));
    // Its own process group: the kill takes the node, its mediasoup worker and both ffmpegs at once, as a crash does.
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', CHILD, dir], {
      detached: true,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const group = child.pid!;
    const groupAlive = () => {
      try {
        process.kill(-group, 0);
        return true;
      } catch {
        return false;
      }
    };
    try {
      const reached = await new Promise<{ segments: number }>((resolve, reject) => {
        createInterface({ input: child.stdout! }).on('line', (line) => {
          const info = JSON.parse(line) as { segments: number };
          if (info.segments >= 4) resolve(info);
        });
        child.once('exit', (code) => reject(new Error(`the recording node exited early (${code})`)));
      });
      process.kill(-group, 'SIGKILL');
      await waitFor('every process of the killed node gone', () => !groupAlive(), 10_000);
      const playlist = join(dir, '.recordings', 'crash', 'index.m3u8');
      const left = await readRecordingPlaylist(playlist);
      expect(left.ended).toBe(false);
      expect(left.text).toContain('#EXT-X-PLAYLIST-TYPE:EVENT');
      expect(left.entries.length).toBeGreaterThanOrEqual(reached.segments);
      // Every listed segment is whole, and a player reading from the first segment gets every one of their packets.
      const packets = await Promise.all(
        left.entries.map((e) => probePackets(join(dir, '.recordings', 'crash', e.uri))),
      );
      expect(packets.every((n) => n > 0)).toBe(true);
      expect(await probePacketsThrough(playlist)).toBe(packets.reduce((a, b) => a + b, 0));
      // The next node on this directory ends it as a VOD, nothing lost.
      const next = await Sfu.create(loadSfuConfig({ SFU_NUM_WORKERS: '1', LOG_LEVEL: 'silent', HLS_DIR: dir }));
      try {
        const ended = await readRecordingPlaylist(playlist);
        expect(ended.ended).toBe(true);
        expect(ended.entries).toEqual(left.entries);
        const probed = await probeCodecs(playlist);
        expect(probed.video).toEqual(['h264']);
        expect(Math.abs(probed.duration - ended.seconds)).toBeLessThanOrEqual(
          Math.max(...ended.entries.map((e) => e.duration)),
        );
        expect((await next.recordings.read('crash'))?.endedAt).not.toBeNull();
      } finally {
        await next.close();
      }
    } finally {
      if (groupAlive()) process.kill(-group, 'SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });
});
