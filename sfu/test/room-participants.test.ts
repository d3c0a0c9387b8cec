// The room's parts on a real worker with real peers (libwebrtc in Node): participants besides the host publish on
// their own transports, a viewer decodes both, and a participant's close cascades (transports, producers, the
// viewer's consumers) with one event each, once; viewers release their budget when they close, the room closes every
// part and says nothing after it closed, and HLS composes the guest's camera with the host's media.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { types } from 'mediasoup-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOST_PARTICIPANT_ID, loadSfuConfig, type Room, type RoomEvents, Sfu } from '../src/index.ts';
import { loadDevice, startTestMedia, type TestMedia } from './helpers/nodeWebrtc.ts';
import { type Publisher, startPublisher, startViewer, type Viewer } from './helpers/peers.ts';
import { waitFor } from './helpers/wait.ts';

/** A send transport of `participantId`, signalled straight to the room, naming each producer's source. */
async function participantTransport(room: Room, participantId: string): Promise<types.Transport> {
  const device = await loadDevice(room.rtpCapabilities);
  const send = device.createSendTransport(await room.createPublisherTransport(participantId));
  send.on('connect', ({ dtlsParameters }, ok, fail) => {
    room.connectTransport(send.id, dtlsParameters).then(ok, fail);
  });
  send.on('produce', ({ kind, rtpParameters, appData }, ok, fail) => {
    room.produce(send.id, kind, rtpParameters as never, appData.source as never).then((id) => ok({ id }), fail);
  });
  return send;
}

describe('Room parts: participants, viewers, close cascades (real worker and peers)', () => {
  let hlsDir: string;
  let sfu: Sfu;
  let room: Room;
  let host: Publisher;
  const media: TestMedia[] = [];
  const viewers: Viewer[] = [];
  const events: { name: keyof RoomEvents; payload: unknown }[] = [];

  beforeAll(async () => {
    hlsDir = await mkdtemp(join(tmpdir(), 'sfu-participants-'));
    sfu = await Sfu.create(
      loadSfuConfig({
        SFU_NUM_WORKERS: '1',
        LOG_LEVEL: process.env.SFU_TEST_LOG ?? 'silent',
        RECORDING: 'off',
        THUMBNAIL_INTERVAL_SECONDS: '0',
        HLS_DIR: hlsDir,
      }),
    );
    room = await sfu.openRoom('room-participants');
    for (const name of ['newProducer', 'producerClosed', 'participantClosed', 'producerPaused'] as const) {
      room.on(name, (payload: unknown) => events.push({ name, payload }));
    }
    host = await startPublisher(room);
  });

  afterAll(async () => {
    for (const v of viewers) v.close();
    host?.close();
    for (const m of media) m.stop();
    await sfu?.close();
    await rm(hlsDir, { recursive: true, force: true });
  });

  it('keeps the one-publisher room as it was: the host first, its producers tagged camera and microphone', () => {
    expect(room.participantIds).toEqual([HOST_PARTICIPANT_ID]);
    expect(room.producers.map((p) => [p.participantId, p.kind, p.source])).toEqual([
      ['host', 'video', 'camera'],
      ['host', 'audio', 'microphone'],
    ]);
  });

  it('takes a guest on its own transport; a viewer decodes both; closing the guest cascades once', async () => {
    const send = await participantTransport(room, 'guest-1');
    const camera = startTestMedia();
    const screen = startTestMedia();
    media.push(camera, screen);
    const cam = await send.produce({ track: camera.tracks.video as never, appData: { source: 'camera' } });
    const shared = await send.produce({ track: screen.tracks.video as never, appData: { source: 'screen' } });
    expect(room.participantIds).toEqual([HOST_PARTICIPANT_ID, 'guest-1']);
    expect(room.producers.map((p) => [p.participantId, p.source])).toEqual([
      ['host', 'camera'],
      ['host', 'microphone'],
      ['guest-1', 'camera'],
      ['guest-1', 'screen'],
    ]);
    expect(room.transportOwner(send.id)).toBe('guest-1');
    expect(room.producerOwner(cam.id)).toBe('guest-1');
    expect(events.filter((e) => e.name === 'newProducer').map((e) => e.payload)).toContainEqual({
      producerId: shared.id,
      kind: 'video',
      participantId: 'guest-1',
      source: 'screen',
    });

    // A viewer joining now consumes all four producers and decodes frames.
    const slot = sfu.pool.workers[0]!;
    const reservedBefore = slot.reserved;
    const viewer = await startViewer(room, 'v1');
    viewers.push(viewer);
    expect(slot.reserved - reservedBefore).toBe(4);
    await waitFor('frames at the viewer', () => viewer.frames > 30, 20_000);

    await room.setProducerPaused(cam.id, true);
    expect(events.at(-1)).toEqual({
      name: 'producerPaused',
      payload: { producerId: cam.id, participantId: 'guest-1', paused: true },
    });

    const consumersBefore = (await room.originRouter.dump()).mapProducerIdConsumerIds;
    expect(consumersBefore.find((e) => e.key === cam.id)?.values).toHaveLength(1);
    const mark = events.length;
    room.closeParticipant('guest-1');
    room.closeParticipant('guest-1');
    expect(room.participantIds).toEqual([HOST_PARTICIPANT_ID]);
    expect(room.producers.map((p) => p.participantId)).toEqual(['host', 'host']);
    expect(room.publisherTransport(send.id)).toBeUndefined();
    expect(events.slice(mark).map((e) => e.name)).toEqual(['producerClosed', 'producerClosed', 'participantClosed']);
    const dump = await room.originRouter.dump();
    expect(dump.mapProducerIdConsumerIds.map((e) => e.key).sort()).toEqual(
      [host.videoProducerId, host.audioProducerId].sort(),
    );
    // The old transport is gone: producing on it is refused, and the host's media still reaches the viewer.
    await expect(room.produce(send.id, 'video', { codecs: [], encodings: [] })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    const frames = viewer.frames;
    await waitFor('the host still reaches the viewer', () => viewer.frames > frames + 20, 20_000);

    // The viewer's close gives its budget back, once.
    room.removeViewer('v1');
    room.removeViewer('v1');
    expect(slot.reserved).toBe(reservedBefore);
    expect(room.viewerIds).toEqual([]);
  });

  it('composes a guest’s camera with the host’s media over HLS', async () => {
    const send = await participantTransport(room, 'guest-2');
    const guestMedia = startTestMedia();
    media.push(guestMedia);
    const guestVideo = await send.produce({ track: guestMedia.tracks.video as never, appData: { source: 'camera' } });
    await room.addHlsViewer('h1');
    const relay = room.hlsRelay;
    expect(relay).toBeDefined();
    const consumed = (await room.originRouter.dump()).mapProducerIdConsumerIds.filter((e) => e.values.length > 0);
    expect(consumed.map((e) => e.key).sort()).toEqual(
      [host.videoProducerId, host.audioProducerId, guestVideo.id].sort(),
    );
    room.removeHlsViewer('h1');
    await room.stopHls();
  });

  it('closes every part with the room and says nothing after', async () => {
    const viewer = await startViewer(room, 'v2');
    viewers.push(viewer);
    const slot = sfu.pool.workers[0]!;
    const mark = events.length;
    await sfu.closeRoom('room-participants');
    expect(room.closed).toBe(true);
    expect(events.slice(mark)).toEqual([]);
    expect(slot.reserved).toBe(0);
    expect(room.participantIds).toEqual([]);
    await expect(room.createPublisherTransport('guest-3')).rejects.toMatchObject({ code: 'STREAM_NOT_LIVE' });
  });
});
