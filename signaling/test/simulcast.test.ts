// Simulcast over signaling (issue 17): the creator publishes three VP8 encodings through rtc:* on its socket (libwebrtc
// in Node), WebRTC viewers pick their layer with rtc:setLayers and hear of the layer they get in consumer:layers.
// Only a viewer's own consumer answers to its socket; bad payloads are refused; a second is a second on any layer.
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { produceSimulcast, type SimulcastPublisher } from '../../sfu/test/helpers/simulcast.ts';
import type { ConsumerLayers } from '../src/protocol.ts';
import { type LiveStream, type PayingViewer, startLiveStream } from './support/liveStream.ts';
import { call, openSendTransport } from './viewers-support.ts';

const PRICE = 1_000n;

describe('simulcast layers per viewer over signaling', () => {
  let live: LiveStream;
  let streamId: string;
  let creator: Socket;
  let publisher: SimulcastPublisher;
  let bob: PayingViewer;
  let charlie: PayingViewer;
  const layersSeen = new Map<Socket, ConsumerLayers[]>();

  const videoConsumerOf = (v: PayingViewer) => {
    const id = live.sfu.getRoom(streamId)?.viewerVideoLayers(v.sessionId)?.consumerId;
    if (!id) throw new Error(`${v.sessionId} has no video consumer`);
    return id;
  };

  beforeAll(async () => {
    live = await startLiveStream();
    streamId = await live.announceStream(live.wallets.alice, 'Simulcast', PRICE);
    creator = await live.open(live.wallets.alice);
    expect(await call(creator, 'stream:goLive', { streamId })).toMatchObject({ ok: true });
    publisher = await produceSimulcast(await openSendTransport(creator, streamId));
    for (const wallet of [live.wallets.bob, live.wallets.charlie]) {
      const { viewer } = await live.joinRtcViewer(wallet, streamId);
      const seen: ConsumerLayers[] = [];
      layersSeen.set(viewer.socket, seen);
      viewer.socket.on('consumer:layers', (l: ConsumerLayers) => seen.push(l));
      if (wallet === live.wallets.bob) bob = viewer;
      else charlie = viewer;
    }
  }, 300_000);

  afterAll(async () => {
    publisher?.close();
    await live?.close();
  });

  it('the creator publishes three layers; a pick is acknowledged, applied and told to that viewer only', async () => {
    const room = live.sfu.getRoom(streamId)!;
    expect(room.viewerVideoLayers(bob.sessionId)?.spatialLayers).toBe(3);
    const bobVideo = videoConsumerOf(bob);
    expect(await call(bob.socket, 'rtc:setLayers', { consumerId: bobVideo, layers: 'low' })).toEqual({ ok: true });
    await vi.waitFor(
      () => expect(layersSeen.get(bob.socket)?.at(-1)).toMatchObject({ consumerId: bobVideo, spatialLayer: 0 }),
      { timeout: 30_000, interval: 100 },
    );
    expect(room.viewerVideoLayers(bob.sessionId)?.spatialLayer).toBe(0);
    expect(await call(bob.socket, 'rtc:setLayers', { consumerId: bobVideo, layers: 'auto' })).toEqual({ ok: true });
    // Charlie hears of his own consumer only.
    const charlieVideo = videoConsumerOf(charlie);
    for (const l of layersSeen.get(charlie.socket) ?? []) expect(l.consumerId).toBe(charlieVideo);
    for (const l of layersSeen.get(bob.socket) ?? []) expect(l.consumerId).toBe(bobVideo);
  });

  it("refuses a pick for another viewer's consumer, from a socket that is no viewer, and bad payloads", async () => {
    const room = live.sfu.getRoom(streamId)!;
    await call(charlie.socket, 'rtc:setLayers', { consumerId: videoConsumerOf(charlie), layers: 'high' });
    const charlieBefore = room.viewerVideoLayers(charlie.sessionId);
    const bad = { ok: false, code: 'BAD_REQUEST' };
    // Bob names Charlie's consumer: the room looks it up among Bob's consumers only.
    expect(
      await call(bob.socket, 'rtc:setLayers', { consumerId: videoConsumerOf(charlie), layers: 'low' }),
    ).toMatchObject(bad);
    // The creator's socket has no consumer at all.
    expect(await call(creator, 'rtc:setLayers', { consumerId: videoConsumerOf(bob), layers: 'low' })).toMatchObject(
      bad,
    );
    const bobVideo = videoConsumerOf(bob);
    for (const payload of [
      { consumerId: bobVideo, layers: 'ultra' },
      { consumerId: bobVideo },
      { layers: 'low' },
      { consumerId: '', layers: 'low' },
      { consumerId: 'x'.repeat(65), layers: 'low' },
      { consumerId: 42, layers: 'low' },
      { consumerId: bobVideo, layers: 2 },
      'low',
      null,
    ]) {
      expect(await call(bob.socket, 'rtc:setLayers', payload), JSON.stringify(payload)).toMatchObject(bad);
    }
    expect(room.viewerVideoLayers(charlie.sessionId)?.consumerId).toBe(charlieBefore?.consumerId);
  });

  it('a second is a second on any layer: ticks charge the price per second on Low as on High', async () => {
    const bobVideo = videoConsumerOf(bob);
    for (const layers of ['low', 'high'] as const) {
      expect(await call(bob.socket, 'rtc:setLayers', { consumerId: bobVideo, layers })).toEqual({ ok: true });
      const from = bob.ticks.length;
      await vi.waitFor(() => expect(bob.ticks.length).toBeGreaterThanOrEqual(from + 3), { timeout: 20_000 });
      const ticks = bob.ticks.slice(from);
      for (const t of ticks) expect(BigInt(t.owed)).toBe(BigInt(t.watchedSeconds) * PRICE);
      const last = ticks.at(-1)!;
      const first = ticks[0]!;
      expect(last.watchedSeconds - first.watchedSeconds).toBe(last.seq - first.seq);
    }
  });
});
