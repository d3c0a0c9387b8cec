import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { types } from 'mediasoup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSfuConfig, type Room, Sfu } from '../src/index.ts';
import { startViewer, type Viewer } from './helpers/peers.ts';
import { type SimulcastPublisher, startSimulcastPublisher } from './helpers/simulcast.ts';
import { waitFor } from './helpers/wait.ts';

describe('simulcast: a three-layer VP8 publisher (wrtc) and viewers on their own layers (real mediasoup)', () => {
  let hlsDir: string;
  let sfu: Sfu;
  let room: Room;
  let publisher: SimulcastPublisher;
  const viewers: Viewer[] = [];
  const transports = new Map<string, types.WebRtcTransport>();
  const producers = new Map<string, types.Producer>();
  /** Consumers on the HLS relay's PlainTransports (appData.role hls). */
  const relayConsumers: types.Consumer[] = [];

  beforeAll(async () => {
    hlsDir = await mkdtemp(join(tmpdir(), 'sfu-simulcast-'));
    sfu = await Sfu.create(
      loadSfuConfig({
        SFU_NUM_WORKERS: '1',
        LOG_LEVEL: process.env.SFU_TEST_LOG ?? 'silent',
        // Not recorded: a recording keeps an HLS relay (an x264 encoder) running beside what this file measures.
        RECORDING: 'off',
        HLS_DIR: hlsDir,
        // No live thumbnail: its keyframe request every interval makes libwebrtc's VP8 simulcast send a keyframe on
        // every layer, a chance for mediasoup to move the capped viewer up whenever its estimate briefly allows it
        // (1 run in 3 under load); this file measures the layers the estimate picks between keyframes asked by viewers.
        THUMBNAIL_INTERVAL_SECONDS: '0',
      }),
    );
    room = await sfu.openRoom('room-simulcast');
    room.originRouter.observer.on('newtransport', (t) => {
      transports.set(t.id, t as types.WebRtcTransport);
      t.observer.on('newproducer', (p) => producers.set(p.id, p));
      if (t.appData.role === 'hls') t.observer.on('newconsumer', (c) => relayConsumers.push(c));
    });
    publisher = await startSimulcastPublisher(room);
  }, 60_000);

  afterAll(async () => {
    for (const v of viewers) v.close();
    publisher?.close();
    await sfu?.close();
    await rm(hlsDir, { recursive: true, force: true });
  });

  it('the producer is simulcast with three encodings, all of them arriving', async () => {
    const producer = producers.get(publisher.producer.id)!;
    expect(producer.type).toBe('simulcast');
    expect(producer.rtpParameters.encodings).toHaveLength(3);
    await waitFor(
      'three layers with bytes at the producer',
      async () => {
        const stats = await producer.getStats();
        return stats.filter((s) => s.byteCount > 0).length === 3;
      },
      30_000,
      1000,
    );
  });

  it('a viewer picks High, Low and Medium: the consumer forwards that layer and the decoder sees its size', async () => {
    const v = await startViewer(room, 'picker');
    viewers.push(v);
    const seen: (number | null)[] = [];
    room.on('viewerLayers', (l) => {
      if (l.viewerId === v.id) seen.push(l.spatialLayer);
    });
    const expectLayer = async (spatial: number, width: number) => {
      await waitFor(
        `spatial layer ${spatial} and ${width}-wide frames (now ${JSON.stringify(room.viewerVideoLayers(v.id))}, ${JSON.stringify(v.lastSize)})`,
        () => room.viewerVideoLayers(v.id)?.spatialLayer === spatial && v.lastSize?.width === width,
        45_000,
        200,
      );
    };
    await room.setViewerLayers(v.id, v.videoConsumerId!, 'high');
    await expectLayer(2, 960);
    await room.setViewerLayers(v.id, v.videoConsumerId!, 'low');
    await expectLayer(0, 240);
    await room.setViewerLayers(v.id, v.videoConsumerId!, 'medium');
    await expectLayer(1, 480);
    expect(room.viewerVideoLayers(v.id)?.spatialLayers).toBe(3);
    // The room told who listens ('viewerLayers', as signaling forwards it to the viewer's socket) of each switch.
    expect(seen).toEqual(expect.arrayContaining([2, 0, 1]));
  }, 150_000);

  it('a viewer whose downlink is capped gets a lower layer under Auto while an uncapped one gets the top layer, and climbs back once uncapped', async () => {
    const v = await startViewer(room, 'constrained');
    viewers.push(v);
    const transport = [...transports.values()].find((t) => t.appData.viewerId === 'constrained');
    expect(transport, 'the viewer transport').toBeDefined();
    // The layers send ~120, ~340 and ~630 kbps from this source: 400 kbps holds the lower two, not the top one.
    await transport!.setMaxOutgoingBitrate(400_000);
    await room.setViewerLayers(v.id, v.videoConsumerId!, 'auto');
    const below = () => {
      const l = room.viewerVideoLayers(v.id)?.spatialLayer;
      return l !== null && l !== undefined && l < 2;
    };
    await waitFor(
      `a lower layer under a 400 kbps cap (now ${JSON.stringify(room.viewerVideoLayers(v.id))}, ${JSON.stringify(v.lastSize)})`,
      () => below() && (v.lastSize?.width ?? 960) < 960,
      45_000,
      200,
    );
    const frames = v.frames;
    await waitFor('the capped viewer keeps decoding', () => v.frames > frames + 30, 20_000);
    expect(below()).toBe(true);
    expect(v.lastSize?.width).toBeLessThan(960);
    // An uncapped viewer on Auto at the same time climbs above layer 0.
    const free = await startViewer(room, 'free');
    viewers.push(free);
    await waitFor(
      `an uncapped Auto viewer on the top layer (now ${JSON.stringify(room.viewerVideoLayers(free.id))})`,
      () => room.viewerVideoLayers(free.id)?.spatialLayer === 2 && free.lastSize?.width === 960,
      60_000,
      200,
    );
    // The downlink recovers (the cap lifted): the estimate climbs and the capped viewer gets the top layer back.
    await transport!.setMaxOutgoingBitrate(10_000_000);
    await waitFor(
      `the top layer back once the cap is lifted (now ${JSON.stringify(room.viewerVideoLayers(v.id))})`,
      () => room.viewerVideoLayers(v.id)?.spatialLayer === 2 && v.lastSize?.width === 960,
      60_000,
      200,
    );
  }, 150_000);

  it("refuses a pick for another viewer's consumer or an unknown consumer (BAD_REQUEST)", async () => {
    const [a, b] = viewers as [Viewer, Viewer];
    await expect(room.setViewerLayers(a.id, b.videoConsumerId!, 'low')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(room.setViewerLayers(a.id, 'nope', 'low')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(room.setViewerLayers('nobody', a.videoConsumerId!, 'low')).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
  });

  it('the HLS relay consumes the top layer: its consumer forwards layer 2 and the ladder starts at 960x540', async () => {
    // With all three layers flowing: a relay started while the sender still ramps up begins on the best layer flowing
    // then, and its master playlist keeps that first picture size (measured: 480x270 a second after publishing).
    const producer = producers.get(publisher.producer.id)!;
    await waitFor(
      'layer 2 flowing',
      async () => (await producer.getStats()).some((s) => s.rid === 'r2' && s.bitrate > 300_000),
      30_000,
      500,
    );
    await room.addHlsViewer('hls');
    await waitFor(
      `the relay's video consumer on layer 2 (now ${JSON.stringify(relayConsumers.map((c) => c.currentLayers))})`,
      () => relayConsumers.some((c) => c.kind === 'video' && c.currentLayers?.spatialLayer === 2),
      60_000,
      200,
    );
    const master = await waitFor(
      'the master playlist',
      async () => (await sfu.hls.read('room-simulcast', 'index.m3u8'))?.body.toString('utf8'),
      90_000,
      500,
    );
    // The default ladder (720p cap, never scaled up) encodes the top layer's 960x540 as its first rendition.
    expect(master).toContain('RESOLUTION=960x540');
    await room.stopHls();
  }, 150_000);
});
