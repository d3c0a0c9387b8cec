import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FfmpegHls, HlsReader, PLAYLIST_NAME } from '../src/index.ts';
import { parsePlaylist, probeCodecs } from './helpers/ffprobe.ts';
import { startLavfiEncoder } from './helpers/lavfi.ts';
import { processAlive, waitFor } from './helpers/wait.ts';

/** FfmpegHls's first restart delay after a crash (its default). */
const FIRST_RESTART_DELAY_MS = 250;

describe('FfmpegHls (real ffmpeg)', () => {
  let root: string;
  let enc: FfmpegHls;
  let close: (() => Promise<void>) | undefined;
  const reader = () => new HlsReader(root);
  const playlist = async () => (await reader().read('s1', PLAYLIST_NAME))?.body.toString('utf8') ?? '';

  beforeAll(async () => {
    // A ladder of one rendition: a single media playlist, as before ladders.
    ({ root, enc, close } = await startLavfiEncoder('high:720:2500', '320x240'));
  });

  afterAll(async () => {
    await close?.();
  });

  it('writes a live playlist whose segments are H.264 + AAC', async () => {
    const text = await waitFor('two segments', async () => {
      const t = await playlist();
      return parsePlaylist(t).segments.length >= 2 ? t : '';
    });
    expect(text).toContain('#EXTM3U');
    expect(text).not.toContain('#EXT-X-ENDLIST');
    const first = parsePlaylist(text).segments[0]!;
    const seg = await reader().read('s1', first);
    expect(seg?.contentType).toBe('video/mp2t');
    expect(seg!.body.length).toBeGreaterThan(1000);
    const codecs = await probeCodecs(join(root, 's1', first));
    expect(codecs.video).toEqual(['h264']);
    expect(codecs.audio).toEqual(['aac']);
    expect(codecs.duration).toBeGreaterThan(0.5);
    expect(codecs.duration).toBeLessThan(2.5);
  });

  it('reads only well-formed names inside the stream directory', async () => {
    const r = reader();
    expect(await r.read('s1', '../s1/index.m3u8')).toBeNull();
    expect(await r.read('..', PLAYLIST_NAME)).toBeNull();
    expect(await r.read('s1', 'seg_99999.ts')).toBeNull();
    expect(await r.read('nope', PLAYLIST_NAME)).toBeNull();
    expect((await r.read('s1', PLAYLIST_NAME))?.contentType).toBe('application/vnd.apple.mpegurl');
  });

  it('restarts a killed ffmpeg after the first back-off step, and the playlist grows again', async () => {
    const oldPid = enc.pid!;
    const before = parsePlaylist(await playlist());
    const lastBefore = before.segments.at(-1);
    const restarted = new Promise((r) => enc.once('restart', r));
    process.kill(oldPid, 'SIGKILL');
    // The encoder's own account: its first attempt, after the first (shortest) back-off delay.
    expect(await restarted).toEqual({ attempt: 1, delayMs: FIRST_RESTART_DELAY_MS });
    await waitFor(
      'a segment written after the restart',
      async () => {
        const now = parsePlaylist(await playlist());
        return enc.pid !== oldPid && now.segments.at(-1) !== lastBefore && now.segments.length > 0;
      },
      30_000,
    );
    expect(enc.restarts).toBe(1);
    expect(processAlive(oldPid)).toBe(false);
    // Numbering continues across the restart, so players never see a segment name reused.
    const after = await playlist();
    expect(after).toContain('#EXT-X-DISCONTINUITY');
  });

  it('close() ends ffmpeg for good', async () => {
    const pid = enc.pid!;
    expect(processAlive(pid)).toBe(true);
    await Promise.all([enc.close(), enc.close()]);
    expect(processAlive(pid)).toBe(false);
    expect(enc.pid).toBeUndefined();
    const text = await readFile(join(root, 's1', PLAYLIST_NAME), 'utf8');
    expect(text).toContain('#EXTM3U');
  });
});
