// The dapp studio's simulcast encodings sent by Chromium (fake camera, mediasoup-client as the dapp uses it) into a
// real mediasoup room: three layers arrive, and a viewer's pick switches the layer it decodes (libwebrtc in Node).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { types } from 'mediasoup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIMULCAST_ENCODINGS } from '../../dapp/src/lib/media/simulcast.ts';
import { loadSfuConfig, type Room, Sfu } from '../src/index.ts';
import { type BrowserHarness, startBrowserHarness } from './helpers/browserHarness.ts';
import { startViewer, type Viewer } from './helpers/peers.ts';
import { waitFor } from './helpers/wait.ts';

interface PageApi {
  publishSimulcast(encodings: unknown, width: number, height: number): Promise<string>;
}

describe("Chromium publishing the studio's simulcast encodings", () => {
  let hlsDir: string;
  let sfu: Sfu;
  let room: Room;
  let harness: BrowserHarness;
  let viewer: Viewer | undefined;
  const producers = new Map<string, types.Producer>();

  beforeAll(async () => {
    hlsDir = await mkdtemp(join(tmpdir(), 'sfu-browser-simulcast-'));
    sfu = await Sfu.create(
      loadSfuConfig({
        SFU_NUM_WORKERS: '1',
        LOG_LEVEL: process.env.SFU_TEST_LOG ?? 'silent',
        RECORDING: 'off',
        HLS_DIR: hlsDir,
      }),
    );
    room = await sfu.openRoom('browser-simulcast');
    room.originRouter.observer.on('newtransport', (t) => {
      t.observer.on('newproducer', (p) => producers.set(p.id, p));
    });
    harness = await startBrowserHarness(sfu, room);
  }, 120_000);

  afterAll(async () => {
    viewer?.close();
    await harness?.close();
    await sfu?.close();
    await rm(hlsDir, { recursive: true, force: true });
  });

  it('sends three VP8 layers from a 1280x720 camera, and a viewer decodes the one it picks', async () => {
    const page = await harness.context.newPage();
    await page.goto(harness.url);
    const producerId = await page.evaluate(
      ([enc, w, h]) => (globalThis as unknown as PageApi).publishSimulcast(enc, w as number, h as number),
      [SIMULCAST_ENCODINGS, 1280, 720] as const,
    );
    const producer = producers.get(producerId)!;
    expect(producer.type).toBe('simulcast');
    expect(producer.rtpParameters.codecs[0]?.mimeType).toBe('video/VP8');
    expect(producer.rtpParameters.encodings?.map((e) => e.rid)).toEqual(['r0', 'r1', 'r2']);
    await waitFor(
      'bytes on all three layers',
      async () => (await producer.getStats()).filter((s) => s.byteCount > 0).length === 3,
      60_000,
      500,
    );
    const v = await startViewer(room, 'picker');
    viewer = v;
    for (const [pick, spatial, width] of [
      ['low', 0, 320],
      ['high', 2, 1280],
    ] as const) {
      await room.setViewerLayers(v.id, v.videoConsumerId!, pick);
      await waitFor(
        `${pick}: layer ${spatial}, ${width} wide (now ${JSON.stringify(room.viewerVideoLayers(v.id))}, ${JSON.stringify(v.lastSize)})`,
        () => room.viewerVideoLayers(v.id)?.spatialLayer === spatial && v.lastSize?.width === width,
        60_000,
        200,
      );
    }
  }, 240_000);
});
