// The recording files and their limits, on real files (no media: segment bytes stand in, only sizes matter here).
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseMediaPlaylist, RecordingStore, renderMediaPlaylist, VodWriter } from '../src/index.ts';

const logger = pino({ level: 'silent' });

describe('recording playlists', () => {
  it('renders an EVENT playlist while recording and a VOD with ENDLIST once ended, and reads both back', () => {
    const entries = [
      { uri: 'high_00000.ts', duration: 1.0, discontinuity: false },
      { uri: 'high_00001.ts', duration: 1.4, discontinuity: true },
    ];
    const event = renderMediaPlaylist(entries, 1, false);
    expect(event).toContain('#EXT-X-PLAYLIST-TYPE:EVENT');
    expect(event).not.toContain('#EXT-X-ENDLIST');
    const vod = renderMediaPlaylist(entries, 1, true);
    expect(vod).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    expect(vod.trimEnd().endsWith('#EXT-X-ENDLIST')).toBe(true);
    expect(parseMediaPlaylist(vod)).toEqual({ entries, ended: true });
    expect(parseMediaPlaylist(event)).toEqual({ entries, ended: false });
  });
});

describe('VodWriter and RecordingStore on real files', () => {
  let root: string;
  let live: string;
  const active = new Set<string>();
  const store = (maxBytes: number, retentionMs = 0) =>
    new RecordingStore({ root, maxBytes, retentionMs, segmentSeconds: 1, active: () => active, logger });

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'sfu-recordings-'));
    live = await mkdtemp(join(tmpdir(), 'sfu-recordings-live-'));
    active.clear();
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
    await rm(live, { recursive: true, force: true });
  });

  /** A recording of `segments` segments of `size` bytes, finished unless told otherwise. */
  async function record(streamId: string, segments: number, size: number, finish = true): Promise<VodWriter> {
    const w = await VodWriter.open({ dir: join(root, streamId), streamId, renditions: ['seg'], segmentSeconds: 1 });
    for (let i = 0; i < segments; i++) {
      const src = join(live, `${streamId}-${i}.ts`);
      await writeFile(src, Buffer.alloc(size, i));
      await w.addSegment('seg', w.allocateIndex(), src, 1, false);
    }
    await (finish ? w.finish() : w.flush());
    return w;
  }

  it('keeps a recording apart from the live output: the live files gone, the recording still holds them', async () => {
    await record('s1', 3, 100);
    await rm(live, { recursive: true, force: true });
    expect((await readdir(join(root, 's1'))).filter((f) => f.endsWith('.ts'))).toEqual([
      'seg_00000.ts',
      'seg_00001.ts',
      'seg_00002.ts',
    ]);
    expect(await store(0).read('s1')).toMatchObject({ segments: 3, bytes: 300, durationSeconds: 3 });
  });

  it('goes on after a reopened recording with a discontinuity and no longer ended', async () => {
    await record('s1', 2, 10);
    await record('s1', 1, 10);
    const { entries, ended } = parseMediaPlaylist(await readFile(join(root, 's1', 'index.m3u8'), 'utf8'));
    expect(ended).toBe(true);
    expect(entries.map((e) => [e.uri, e.discontinuity])).toEqual([
      ['seg_00000.ts', false],
      ['seg_00001.ts', false],
      ['seg_00002.ts', true],
    ]);
    expect((await store(0).read('s1'))?.bytes).toBe(30);
  });

  it('deletes the oldest finished recordings beyond the size limit, never one being made', async () => {
    // Apart in time: the order is the end times' (ms).
    for (const id of ['old', 'mid', 'new']) {
      await record(id, 2, 500);
      await sleep(5);
    }
    active.add('making');
    await record('making', 2, 500, false);
    // 4,000 bytes against 2,500: old and mid go; making is kept though it started after them.
    expect(await store(2_500).sweep()).toEqual(['old', 'mid']);
    expect((await store(0).list()).map((i) => i.streamId).sort()).toEqual(['making', 'new']);
    expect(await store(0).sweep()).toEqual([]);
  });

  it('deletes finished recordings past the retention time', async () => {
    await record('done', 1, 10);
    active.add('making');
    await record('making', 1, 10, false);
    expect(await store(0, 60_000).sweep()).toEqual([]);
    await sleep(30);
    expect(await store(0, 10).sweep()).toEqual(['done']);
    expect((await store(0).list()).map((i) => i.streamId)).toEqual(['making']);
  });

  it('ends recordings a dead process left unfinished, and removes directories with no playlist', async () => {
    await record('cut', 2, 10, false);
    await VodWriter.open({ dir: join(root, 'empty'), streamId: 'empty', renditions: ['seg'], segmentSeconds: 1 });
    expect(await store(0).recover()).toEqual(['cut']);
    expect(parseMediaPlaylist(await readFile(join(root, 'cut', 'index.m3u8'), 'utf8')).ended).toBe(true);
    expect(await readdir(root)).toEqual(['cut']);
  });

  it('removes a finished recording on request (a deleted replay), never one being made', async () => {
    await record('done', 2, 10);
    active.add('making');
    await record('making', 2, 10, false);
    expect(await store(0).remove('making')).toBe(false);
    expect(await store(0).remove('done')).toBe(true);
    expect(await store(0).read('done')).toBeNull();
    expect(await readdir(root)).toEqual(['making']);
    // Nothing there, or an id that names no directory: nothing to do.
    expect(await store(0).remove('done')).toBe(true);
    expect(await store(0).remove('../escape')).toBe(true);
  });
});
