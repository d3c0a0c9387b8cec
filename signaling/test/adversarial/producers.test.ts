// A creator adding producers without end (each one a mediasoup producer, consumers for every viewer, RTP to route):
// bounded per stream by PRODUCERS_PER_STREAM_MAX (default 4), across all the creator's connections, refused with
// LIMIT_REACHED; the refused request leaves nothing behind in the router. Pausing a producer (the studio's mute and
// camera off) is its stream creator's alone. Real publishers (libwebrtc in Node).
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type LiveStream, startLiveStream } from '../support/liveStream.ts';
import type { Publisher } from '../viewers-support.ts';

const MAX = 4;

describe('producers per stream', () => {
  let live: LiveStream;
  let streamId: string;

  /** What the stream's router holds: transports and producers (mediasoup's own dump). */
  const routerHolds = async () => {
    const room = live.sfu.getRoom(streamId);
    if (!room) throw new Error('the stream has no room');
    const dump = await room.originRouter.dump();
    return {
      transports: dump.transportIds.length,
      producers: dump.mapProducerIdConsumerIds.length,
      inRoom: room.producers.length,
    };
  };

  beforeAll(async () => {
    live = await startLiveStream();
    streamId = await live.announceStream(live.wallets.alice, 'Producers', 1_000n);
  });

  afterAll(async () => {
    await live?.close();
  });

  it(`refuses a fifth producer with LIMIT_REACHED, on any of the creator's connections, and leaks nothing`, async () => {
    const first: Socket = await live.open(live.wallets.alice);
    const second: Socket = await live.open(live.wallets.alice);
    expect(await first.emitWithAck('stream:goLive', { streamId })).toMatchObject({ ok: true });
    const a: Publisher = await live.publish(first, streamId, ['video', 'audio']);
    const b: Publisher = await live.publish(second, streamId, ['video', 'audio']);
    expect(await routerHolds()).toEqual({ transports: 2, producers: MAX, inRoom: MAX });

    // On either connection the fifth is refused, and the refusal is the stable code.
    for (const publisher of [a, b]) {
      const refused = await publisher.add('video').then(
        () => undefined,
        (err: Error) => err,
      );
      expect(refused?.message).toMatch(/^rtc:produce refused: LIMIT_REACHED /);
    }
    expect(await routerHolds()).toEqual({ transports: 2, producers: MAX, inRoom: MAX });

    // A connection going away frees its producers and its transport; a new one can use the slots again (the refused
    // publishers' tracks were stopped by mediasoup-client when the server refused them).
    second.close();
    await vi.waitFor(async () => expect(await routerHolds()).toEqual({ transports: 1, producers: 2, inRoom: 2 }), {
      timeout: 10_000,
      interval: 50,
    });
    const third: Socket = await live.open(live.wallets.alice);
    const c: Publisher = await live.publish(third, streamId, ['video', 'audio']);
    expect(await routerHolds()).toEqual({ transports: 2, producers: MAX, inRoom: MAX });
    await expect(c.add('audio')).rejects.toThrow(/LIMIT_REACHED/);
    expect(await routerHolds()).toEqual({ transports: 2, producers: MAX, inRoom: MAX });

    third.close();
    first.close();
    await vi.waitFor(async () => expect(await routerHolds()).toEqual({ transports: 0, producers: 0, inRoom: 0 }), {
      timeout: 10_000,
      interval: 50,
    });
  });

  it('pauses and resumes a producer for its creator only: another wallet is refused, even from its own live stream', async () => {
    const { alice: aliceWallet, bob: bobWallet } = live.wallets;
    const ours = await live.announceStream(aliceWallet, 'Muting', 1_000n);
    const theirs = await live.announceStream(bobWallet, 'Other', 1_000n);
    const alice: Socket = await live.open(aliceWallet);
    const bob: Socket = await live.open(bobWallet);
    expect(await alice.emitWithAck('stream:goLive', { streamId: ours })).toMatchObject({ ok: true });
    expect(await bob.emitWithAck('stream:goLive', { streamId: theirs })).toMatchObject({ ok: true });
    const publisher: Publisher = await live.publish(alice, ours, ['audio']);
    const producerId = publisher.producerIds[0];
    const paused = () => live.sfu.getRoom(ours)?.producers.find((p) => p.id === producerId)?.paused;
    const setPaused = (socket: Socket, streamId: string, value: unknown) =>
      socket.emitWithAck('rtc:setProducerPaused', { streamId, producerId, paused: value });

    expect(await setPaused(alice, ours, true)).toEqual({ ok: true });
    expect(paused()).toBe(true);
    expect(await setPaused(bob, ours, false)).toMatchObject({ ok: false, code: 'NOT_CREATOR' });
    // Bob is the creator of his own stream, whose room has no such producer.
    expect(await setPaused(bob, theirs, false)).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    expect(await setPaused(alice, ours, 'no')).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    expect(paused()).toBe(true);
    expect(await setPaused(alice, ours, false)).toEqual({ ok: true });
    expect(paused()).toBe(false);

    publisher.close();
    alice.close();
    bob.close();
  });
});
