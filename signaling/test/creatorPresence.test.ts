// The creator's side of a live stream, seen by a paying WebRTC viewer: producers added after the viewer consumed
// (`rtc:newProducers`), the creator's connection dropping (media paused, nothing charged) and coming back within the
// grace period, or not coming back (the stream ends and the viewer's session closes at what was metered).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { waitForStill } from '../../sfu/test/helpers/wait.ts';
import type { NewProducer, Tick } from '../src/index.ts';
import { type LiveStream, type PayingViewer, startLiveStream } from './support/liveStream.ts';
import { meterRounds as waitForRounds } from './support/meterRounds.ts';
import { call, callOk, type Publisher, type RtcViewer } from './viewers-support.ts';

const PRICE = 1_000_000n;
/** Long enough that going away, the checks while away and coming back fit in it on a loaded machine. */
const CREATOR_GRACE_SECONDS = 15;

describe('the creator’s side of a live stream: new producers, disconnects, the grace period', () => {
  let live: LiveStream;

  const createLiveStream = async (creator: Socket): Promise<string> => {
    const streamId = await live.announceStream(live.wallets.alice, 'Creator presence', PRICE);
    await callOk(creator, 'stream:goLive', { streamId });
    return streamId;
  };

  /** The creator's socket drops with its publisher; resolves with when, once the viewer is told media paused. */
  const creatorLeaves = async (creator: Socket, publisher: Publisher, viewer: PayingViewer): Promise<number> => {
    const away = Date.now();
    publisher.close();
    creator.close();
    await vi.waitFor(() => expect(viewer.payloads('media:paused')).toEqual([{ reason: 'creator-away' }]), {
      timeout: 20_000,
      interval: 50,
    });
    return away;
  };

  /** Resolves once the server's meter has completed `n` more rounds (its clock, not the test's). */
  const meterRounds = (n: number): Promise<void> => waitForRounds(live.viewers().meter, n);

  beforeAll(async () => {
    live = await startLiveStream({
      streamsEnv: { STREAM_CREATOR_GRACE_SECONDS: String(CREATOR_GRACE_SECONDS) },
      // Settlement windows far beyond the test: only the creator's presence starts and stops media here.
      viewersEnv: { SETTLE_EVERY_SECONDS: '60', PAYMENT_GRACE_SECONDS: '600' },
    });
  });

  afterAll(async () => {
    await live?.close();
  });

  let streamId: string;
  let creator: Socket;
  let publisher: Publisher;
  let watcher: { viewer: PayingViewer; rtc: RtcViewer };

  it('gives a viewer that consumed the video the audio the creator adds later', async () => {
    creator = await live.open(live.wallets.alice);
    streamId = await createLiveStream(creator);
    publisher = await live.publish(creator, streamId, ['video']);
    watcher = await live.joinRtcViewer(live.wallets.bob, streamId);
    const { viewer, rtc } = watcher;
    expect(rtc.kinds).toEqual(['video']);
    await vi.waitFor(() => expect(rtc.frames).toBeGreaterThan(10), { timeout: 20_000, interval: 100 });
    await vi.waitFor(() => expect(viewer.ticks.length).toBeGreaterThanOrEqual(2), { timeout: 15_000, interval: 100 });
    expect(rtc.audioFrames).toBe(0);

    const audioId = await publisher.add('audio');
    await vi.waitFor(() => expect(rtc.kinds).toEqual(['video', 'audio']), { timeout: 30_000, interval: 50 });
    expect(viewer.payloads('rtc:newProducers')).toEqual([
      { streamId, producers: [{ producerId: audioId, kind: 'audio' } satisfies NewProducer] },
    ]);
    await vi.waitFor(() => expect(rtc.audioFrames).toBeGreaterThan(50), { timeout: 30_000, interval: 100 });
    const frames = rtc.frames;
    await vi.waitFor(() => expect(rtc.frames).toBeGreaterThan(frames + 10), { timeout: 30_000, interval: 100 });
  });

  it('pauses media without charging while the creator is away, and resumes when it publishes again in time', async () => {
    const { viewer, rtc } = watcher;
    const away = await creatorLeaves(creator, publisher, viewer);
    // The meter's round in progress and the next may still count the last media (a round's flow sample covers the
    // interval since the one before); from then on, no tick and no frame.
    const [frames] = await Promise.all([waitForStill(() => rtc.frames), meterRounds(2)]);
    const frozen = viewer.ticks.length;
    await meterRounds(2);
    expect(viewer.ticks.length).toBe(frozen);
    expect(rtc.frames).toBe(frames);
    // Still within the grace by the server's account: the stream is live, waiting for its creator.
    expect(await live.statusOf(streamId)).toBe('live');

    // The creator reconnects and publishes again: the viewer gets the new producers and media resumes.
    const back = await live.open(live.wallets.alice);
    await callOk(back, 'stream:goLive', { streamId });
    const republished = await live.publish(back, streamId);
    await vi.waitFor(() => expect(rtc.kinds).toEqual(['video', 'audio', 'video', 'audio']), {
      timeout: 30_000,
      interval: 50,
    });
    expect(viewer.payloads('rtc:newProducers').slice(1)).toEqual(
      republished.producerIds.map((producerId, i) => ({
        streamId,
        producers: [{ producerId, kind: i === 0 ? 'video' : 'audio' }],
      })),
    );
    expect(viewer.payloads('media:resumed')).toHaveLength(1);
    await vi.waitFor(() => expect(rtc.frames).toBeGreaterThan(frames + 10), { timeout: 30_000, interval: 100 });
    await vi.waitFor(() => expect(viewer.ticks.length).toBeGreaterThan(frozen + 2), { timeout: 30_000, interval: 100 });
    viewer.ticks.forEach((t, i) => {
      expect(t).toMatchObject({ seq: i + 1, watchedSeconds: i + 1, owed: (BigInt(i + 1) * PRICE).toString() });
    });

    // Past the grace period the stream is still live: the creator came back.
    await sleep(Math.max(0, CREATOR_GRACE_SECONDS * 1000 + 1000 - (Date.now() - away)));
    expect(await live.statusOf(streamId)).toBe('live');
    expect(viewer.payloads('stream:ended')).toEqual([]);
    expect(await live.listed()).toContain(streamId);
  });

  it('ends the stream when the creator does not come back: viewers told, sessions closed at what was metered', async () => {
    const creator = await live.open(live.wallets.alice);
    const ending = await createLiveStream(creator);
    const publisher = await live.publish(creator, ending);
    const { viewer, rtc } = await live.joinRtcViewer(live.wallets.charlie, ending);
    await vi.waitFor(() => expect(viewer.ticks.length).toBeGreaterThanOrEqual(2), { timeout: 20_000, interval: 100 });
    expect(rtc.kinds).toEqual(['video', 'audio']);

    const away = await creatorLeaves(creator, publisher, viewer);
    expect(await live.listed()).toContain(ending);
    await vi.waitFor(() => expect(viewer.payloads('stream:ended')).toEqual([{ streamId: ending }]), {
      timeout: CREATOR_GRACE_SECONDS * 1000 + 10_000,
      interval: 100,
    });
    // Ended by the server no earlier than the grace after the creator left (its own clock: the stream's endedAt; a
    // lower bound, which load only makes later; the 200 ms allow for timer granularity).
    const ended = (await live.get(`/v1/streams/${ending}`)).stream as { endedAt?: string } | undefined;
    expect(Date.parse(ended?.endedAt ?? '') - away).toBeGreaterThanOrEqual(CREATOR_GRACE_SECONDS * 1000 - 200);

    expect(await live.statusOf(ending)).toBe('ended');
    expect(await live.listed()).not.toContain(ending);
    expect(live.sfu.getRoom(ending)).toBeUndefined();
    expect(live.viewers().viewer(viewer.sessionId)).toBeUndefined();
    // Closed at the last tick the viewer got: the seconds without media cost nothing.
    const last = viewer.ticks.at(-1) as Tick;
    const stored = await live.ledger().session(viewer.sessionId);
    expect(stored).toMatchObject({ status: 'closed', lastSeq: last.seq, watchedSeconds: last.watchedSeconds });
    expect(stored?.owed).toBe(BigInt(last.owed));
    // The client's own leave (the dapp sends one on stream:ended) still gets the totals.
    expect(await callOk(viewer.socket, 'viewer:leave', {})).toMatchObject({ owed: last.owed, settled: '0' });
    expect(await call(viewer.socket, 'viewer:leave', {})).toMatchObject({ ok: false, code: 'BAD_REQUEST' });

    const again = await live.open(live.wallets.alice);
    expect(await call(again, 'stream:goLive', { streamId: ending })).toMatchObject({
      ok: false,
      code: 'STREAM_NOT_LIVE',
      details: { reason: 'ended' },
    });
  });
});
