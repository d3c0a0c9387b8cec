import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSfuConfig, PLAYLIST_NAME, type Room, Sfu } from '../src/index.ts';
import { type BrowserHarness, startBrowserHarness } from './helpers/browserHarness.ts';
import { parsePlaylist } from './helpers/ffprobe.ts';
import { waitFor, waitForCount } from './helpers/wait.ts';

/** Functions page.html puts on window (this repo's tsconfig has no DOM lib). */
interface PageApi {
  publishH264(): Promise<void>;
  watchWebRtc(viewerId: string): Promise<void>;
  inboundVideo(): Promise<{ framesDecoded: number; codec?: string } | null>;
  playHls(src: string): void;
  playback(): { t: number; w: number; h: number };
  hlsLevels(): { heights: number[]; playing: number };
  pinLevel(level: number): void;
  errors: string[];
}

describe('Chromium: H.264 publisher, WebRTC viewer and hls.js viewer', () => {
  let hlsDir: string;
  let sfu: Sfu;
  let room: Room;
  let harness: BrowserHarness;
  let publisher: Page;

  beforeAll(async () => {
    hlsDir = await mkdtemp(join(tmpdir(), 'sfu-browser-'));
    sfu = await Sfu.create(
      loadSfuConfig({
        SFU_NUM_WORKERS: '1',
        LOG_LEVEL: process.env.SFU_TEST_LOG ?? 'silent',
        // Not recorded: a recording keeps an HLS relay (an x264 encoder) running beside what this file measures.
        RECORDING: 'off',
        HLS_DIR: hlsDir,
        // The fake camera sends 320x240: a ladder whose two renditions differ at that size.
        HLS_LADDER: 'high:240:800,low:120:200',
      }),
    );
    room = await sfu.openRoom('browser-live');
    harness = await startBrowserHarness(sfu, room);
    publisher = await harness.context.newPage();
    await publisher.goto(harness.url);
    await publisher.evaluate(() => (globalThis as unknown as PageApi).publishH264());
  });

  afterAll(async () => {
    await harness?.close();
    await sfu?.close();
    await rm(hlsDir, { recursive: true, force: true });
  });

  it('negotiates H.264 from the browser and a browser viewer decodes it', async () => {
    expect(room.producers.map((p) => p.mimeType).sort()).toEqual(['audio/opus', 'video/H264']);
    const viewer = await harness.context.newPage();
    await viewer.goto(harness.url);
    await viewer.evaluate(() => (globalThis as unknown as PageApi).watchWebRtc('chromium-viewer'));
    const inbound = () => viewer.evaluate(() => (globalThis as unknown as PageApi).inboundVideo());
    // Chromium encodes and decodes H.264 in software: on a machine with both cores busy 20 frames took over 20 s.
    await waitForCount('decoded H.264 frames', async () => (await inbound())?.framesDecoded ?? 0, 20);
    expect((await inbound())?.codec).toBe('video/H264');
    await viewer.close();
    room.removeViewer('chromium-viewer');
  }, 120_000);

  it('plays the HLS relay of the same publisher with hls.js', async () => {
    await room.addHlsViewer('hls-viewer');
    await waitFor(
      'two HLS segments',
      async () => {
        // The top rendition's playlist (index.m3u8 is the master playlist of the default ladder).
        const file = await sfu.hls.read('browser-live', 'high.m3u8');
        return file && parsePlaylist(file.body.toString('utf8')).segments.length >= 2;
      },
      20_000,
    );
    const page = await harness.context.newPage();
    await page.goto(harness.url);
    await page.evaluate((src) => (globalThis as unknown as PageApi).playHls(src), `/hls/browser-live/${PLAYLIST_NAME}`);
    const first = await waitFor(
      'playback to start',
      async () => {
        const p = await page.evaluate(() => (globalThis as unknown as PageApi).playback());
        return p.t > 0 ? p : null;
      },
      20_000,
    );
    await waitFor(
      '2 s of playback',
      async () => (await page.evaluate(() => (globalThis as unknown as PageApi).playback())).t > first.t + 2,
      20_000,
    );
    const p = await page.evaluate(() => (globalThis as unknown as PageApi).playback());
    expect(p.w).toBeGreaterThan(0);
    // The master playlist's two renditions; pinning the low one (the dapp's "Low") plays it.
    const levels = await page.evaluate(() => (globalThis as unknown as PageApi).hlsLevels());
    // hls.js orders its levels by bit rate, lowest first.
    expect(levels.heights).toEqual([120, 240]);
    const low = 0;
    await page.evaluate((i) => (globalThis as unknown as PageApi).pinLevel(i), low);
    await waitFor(
      'the low rendition to play',
      async () => {
        const [l, now] = await page.evaluate(() => {
          const api = globalThis as unknown as PageApi;
          return [api.hlsLevels(), api.playback()] as const;
        });
        return l.playing === low && now.h === 120;
      },
      30_000,
    );
    expect(await page.evaluate(() => (globalThis as unknown as PageApi).errors)).toEqual([]);
    await page.close();
    room.removeHlsViewer('hls-viewer');
  });
});
