import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSfuConfig, type Room, Sfu } from '../src/index.ts';
import { type Publisher, startPublisher, startViewer, type Viewer } from './helpers/peers.ts';
import { waitFor, waitForStill } from './helpers/wait.ts';

describe('Room with a real publisher and 3 real viewers (wrtc + mediasoup-client)', () => {
  let hlsDir: string;
  let sfu: Sfu;
  let room: Room;
  let publisher: Publisher;
  let viewers: Viewer[] = [];

  beforeAll(async () => {
    hlsDir = await mkdtemp(join(tmpdir(), 'sfu-room-'));
    sfu = await Sfu.create(
      loadSfuConfig({
        SFU_NUM_WORKERS: '1',
        LOG_LEVEL: process.env.SFU_TEST_LOG ?? 'silent',
        RECORDING: 'off',
        HLS_DIR: hlsDir,
      }),
    );
    room = await sfu.openRoom('room-webrtc');
    publisher = await startPublisher(room);
    viewers = await Promise.all(['v1', 'v2', 'v3'].map((id) => startViewer(room, id)));
  });

  afterAll(async () => {
    for (const v of viewers) v.close();
    publisher?.close();
    await sfu?.close();
    await rm(hlsDir, { recursive: true, force: true });
  });

  it('every viewer completes ICE/DTLS and decodes video frames', async () => {
    expect(room.producers.map((p) => p.kind).sort()).toEqual(['audio', 'video']);
    await waitFor('30 decoded frames at every viewer', () => viewers.every((v) => v.frames >= 30), 20_000);
    await room.sampleFlow();
    await sleep(1000);
    const flow = await room.sampleFlow();
    for (const v of viewers) expect(flow.get(v.id)).toMatchObject({ flowing: true });
    expect(Math.min(...[...flow.values()].map((f) => f.rtpBytes))).toBeGreaterThan(1000);
  });

  it('pausing one viewer stops its frames while the others continue', async () => {
    const [paused, ...others] = viewers as [Viewer, Viewer, Viewer];
    await room.pauseViewer(paused.id);
    // Frames already on their way are still decoded: wait until the paused viewer's count stands still.
    const frozen = await waitForStill(() => paused.frames);
    // Measured in the others' media, not the test's clock: they decode 10+ frames meanwhile, the paused one none.
    const othersBefore = others.map((v) => v.frames);
    await room.sampleFlow();
    await waitFor('10 more frames at the other viewers', () =>
      others.every((v, i) => v.frames > othersBefore[i]! + 10),
    );
    expect(paused.frames).toBe(frozen);
    const flow = await room.sampleFlow();
    expect(flow.get(paused.id)).toEqual({ flowing: false, rtpBytes: 0 });
    expect(flow.get(others[0].id)?.flowing).toBe(true);

    // The client cannot lift an enforcement pause by itself.
    await room.resumeConsumer(paused.id);
    const othersThen = others.map((v) => v.frames);
    await waitFor('10 more frames at the other viewers', () => others.every((v, i) => v.frames > othersThen[i]! + 10));
    expect(paused.frames).toBe(frozen);
    expect(room.isViewerPaused(paused.id)).toBe(true);

    await room.resumeViewer(paused.id);
    await waitFor('frames again after resumeViewer', () => paused.frames > frozen + 10, 10_000);
  });

  it('refuses unknown viewers and transports with BAD_REQUEST', async () => {
    await expect(room.pauseViewer('nobody')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(room.connectTransport('nope', { fingerprints: [] })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(room.addViewer('v1')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('removing a viewer closes its transport and consumers', async () => {
    const slot = sfu.pool.workers[0]!;
    const consumersBefore = slot.consumers;
    const reservedBefore = slot.reserved;
    room.removeViewer('v3');
    room.removeViewer('v3');
    expect(room.viewerIds.sort()).toEqual(['v1', 'v2']);
    expect(slot.reserved).toBe(reservedBefore - 2);
    await waitFor('consumers closed', () => slot.consumers === consumersBefore - 2);
  });

  it('closing the room leaves no router, transport, consumer or reservation behind', async () => {
    const slot = sfu.pool.workers[0]!;
    const roomClosed = new Promise((r) => room.once('close', r));
    await room.close();
    expect(await roomClosed).toEqual({ reason: 'closed' });
    const dump = await slot.worker.dump();
    expect(dump.routerIds).toEqual([]);
    expect(slot.consumers).toBe(0);
    expect(slot.routers).toBe(0);
    expect(slot.reserved).toBe(0);
    expect(sfu.health().rooms).toBe(0);
    await expect(room.sampleFlow()).resolves.toEqual(new Map());
  });
});
