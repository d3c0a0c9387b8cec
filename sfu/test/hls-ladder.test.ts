import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_HLS_LADDER,
  type FfmpegHls,
  HlsReader,
  PLAYLIST_NAME,
  parseHlsFileName,
  parseHlsLadder,
} from '../src/index.ts';
import { parseMaster, parsePlaylist, probeVideo, segmentDurations } from './helpers/ffprobe.ts';
import { startLavfiEncoder } from './helpers/lavfi.ts';
import { processAlive, waitFor } from './helpers/wait.ts';

// A 720p test source (ffmpeg's own), encoded by the default ladder; the relay test feeds real RTP from mediasoup.
describe('FfmpegHls ladder (real ffmpeg, two renditions)', () => {
  let root: string;
  let enc: FfmpegHls;
  let close: (() => Promise<void>) | undefined;
  const reader = () => new HlsReader(root);
  const text = async (file: string) => (await reader().read('s1', file))?.body.toString('utf8') ?? '';

  beforeAll(async () => {
    ({ root, enc, close } = await startLavfiEncoder(DEFAULT_HLS_LADDER, '1280x720'));
  });

  afterAll(async () => {
    await close?.();
  });

  it('writes a master playlist listing each rendition with BANDWIDTH, RESOLUTION and CODECS', async () => {
    const master = await waitFor('the master playlist', () => text(PLAYLIST_NAME), 30_000);
    const variants = parseMaster(master);
    expect(variants.map((v) => v.uri)).toEqual(['high.m3u8', 'low.m3u8']);
    expect(variants.map((v) => v.attrs.RESOLUTION)).toEqual(['1280x720', '640x360']);
    const [high, low] = variants.map((v) => Number(v.attrs.BANDWIDTH));
    expect(high).toBeGreaterThan(2_500_000);
    expect(low).toBeGreaterThan(600_000);
    expect(low).toBeLessThan(high as number);
    for (const v of variants) expect(v.attrs.CODECS).toMatch(/^avc1\.[0-9a-f]{6},mp4a\.40\.2$/);
    expect(enc.mediaPlaylistPath).toBe(join(root, 's1', 'high.m3u8'));
  });

  it('advances both renditions with segments cut at the same media times', async () => {
    const both = async () => {
      const [h, l] = [await text('high.m3u8'), await text('low.m3u8')];
      return { high: parsePlaylist(h), low: parsePlaylist(l), hd: segmentDurations(h), ld: segmentDurations(l) };
    };
    const first = await waitFor(
      '4 segments in each rendition',
      async () => {
        const b = await both();
        return b.high.segments.length >= 4 && b.low.segments.length >= 4 ? b : null;
      },
      30_000,
    );
    const later = await waitFor(
      'both renditions to move on',
      async () => {
        const b = await both();
        return b.high.mediaSequence > first.high.mediaSequence && b.low.mediaSequence > first.low.mediaSequence
          ? b
          : null;
      },
      30_000,
    );
    // Segment N of each rendition: same sequence numbers, same durations, same first video timestamp.
    const seqs = (names: string[]) => names.map((n) => (parseHlsFileName(n) as { seq: number }).seq);
    const common = seqs(later.high.segments).filter((s) => seqs(later.low.segments).includes(s));
    expect(common.length).toBeGreaterThanOrEqual(4);
    const name = (r: string, seq: number) => `${r}_${String(seq).padStart(5, '0')}.ts`;
    for (const seq of common) {
      expect(later.hd.get(name('high', seq))).toBeCloseTo(later.ld.get(name('low', seq)) as number, 2);
    }
    for (const seq of common.slice(-3, -1)) {
      const [h, l] = await Promise.all(['high', 'low'].map((r) => probeVideo(join(root, 's1', name(r, seq)))));
      expect(h?.height).toBe(720);
      expect(l?.height).toBe(360);
      // One frame at 25 fps.
      expect(Math.abs((h?.startTime as number) - (l?.startTime as number))).toBeLessThan(0.04);
    }
  });

  it('serves every rendition through the reader, and nothing else', async () => {
    const r = reader();
    const seg = parsePlaylist(await text('low.m3u8')).segments.at(-2) as string;
    expect((await r.read('s1', seg))?.contentType).toBe('video/mp2t');
    expect((await r.read('s1', 'high.m3u8'))?.contentType).toBe('application/vnd.apple.mpegurl');
    for (const bad of ['high.m3u8.tmp', '../s1/low.m3u8', 'HIGH.m3u8', 'low_1.ts', 'low-00001.ts', 'x.ts']) {
      expect(await r.read('s1', bad)).toBeNull();
    }
    expect(parseHlsFileName('low_00012.ts')).toEqual({ kind: 'segment', rendition: 'low', seq: 12 });
    expect(parseHlsFileName('seg_00012.ts')).toEqual({ kind: 'segment', rendition: 'seg', seq: 12 });
  });

  it('close() ends the one ffmpeg of the ladder', async () => {
    const pid = enc.pid as number;
    expect(processAlive(pid)).toBe(true);
    await Promise.all([enc.close(), enc.close()]);
    expect(processAlive(pid)).toBe(false);
  });
});

describe('HLS_LADDER', () => {
  it('parses name:maxHeight:videoKbps renditions, highest first', () => {
    expect(parseHlsLadder('high:720:2500, low:360:600')).toEqual([
      { name: 'high', maxHeight: 720, videoKbps: 2500 },
      { name: 'low', maxHeight: 360, videoKbps: 600 },
    ]);
    for (const bad of [
      '',
      'high:720',
      'High:720:2500',
      'index:720:2500',
      'a:360:600,a:240:300',
      'low:360:600,high:720:2500',
      'a:1:1',
    ]) {
      expect(() => parseHlsLadder(bad), bad).toThrow();
    }
  });
});
