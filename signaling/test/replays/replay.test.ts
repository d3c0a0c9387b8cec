// Paid replays on the real parts (dev chain, mediasoup, the ffmpeg relay recording the stream, PGlite) with real
// clients (socket.io-client, plain HTTP to the HLS edge): a stream recorded while live, its replay ready once it
// ended at the creator's replay price; the recording served by the edge to paying replay sessions only, each
// distinct second charged once (a seek back is free, a skip is not charged, a rejoin of the session pays no second
// twice) through the same ticks, vouchers and settlement as live, the creator paid exactly that on chain; a deleted replay gone (404, files removed, its
// sessions ended); a stream with recording turned off has no replay.
import { existsSync } from 'node:fs';
import {
  buildFinalSettlement,
  buildSettlement,
  decodeBlock,
  type ProtocolEvent,
  sessionKeyPair,
} from '@persecond/contracts-client';
import { parseMediaPlaylist, recordingDirOf } from '@persecond/sfu';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ReplayInfo } from '../../src/protocol.ts';
import { replaysModule } from '../../src/replays/ReplaysModule.ts';
import { request, signIn } from '../support/clients.ts';
import { type LiveStream, PayingViewer, startLiveStream } from '../support/liveStream.ts';
import { type AckJson, call, callOk } from '../viewers-support.ts';

const PRICE = 1_000_000n;
const REPLAY_PRICE = 3_000_000n;
/** Segments of the recording fetched, by index: 1 and 0 again (a seek back), 3 and 4 skipped. */
const FETCHED = [0, 1, 2, 1, 0, 5];
const DISTINCT = new Set(FETCHED).size;

interface EdgeAnswer {
  status: number;
  body: Buffer;
  code: string | undefined;
}

/** A GET of the HLS edge as a player makes it (`?token=`), the answer's code when it is a JSON refusal. */
async function edgeGet(url: string, token?: string): Promise<EdgeAnswer> {
  const u = new URL(url);
  if (token !== undefined) u.searchParams.set('token', token);
  const res = await fetch(u);
  const body = Buffer.from(await res.arrayBuffer());
  const json = res.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(body.toString()) : {};
  return { status: res.status, body, code: (json as { code?: string }).code };
}

describe('paid replays of recorded streams', () => {
  let live: LiveStream;
  let creator: Socket;
  let creatorToken: string;
  let streamId: string;
  let firstBlock = 0;

  const replayOf = (id: string) => request(`${live.server.url}/v1/streams/${id}/replay`);
  const deleteReplay = (id: string, token: string) =>
    request(`${live.server.url}/v1/streams/${id}/replay`, { method: 'DELETE', token });
  /** A funded session of `wallet` joined to the replay of `id` on a new socket, acknowledging every tick. */
  const joinReplay = async (wallet: LiveStream['wallets']['bob'], id: string) => {
    const session = live.newSession(wallet, id);
    await live.fund(wallet, session);
    const socket = await live.open(wallet);
    const viewer = new PayingViewer(socket, live.client.facts.genesisHash, id, session);
    const admission = await callOk(socket, 'replay:join', { streamId: id, session: session.payload });
    return { viewer, admission: admission as AckJson & { mode: string; playlistUrl: string; token: string } };
  };

  beforeAll(async () => {
    // Recording on (the test stacks turn it off); settlement windows far beyond the test; vouchers verified at once.
    live = await startLiveStream({
      sfuEnv: { RECORDING: 'on' },
      viewersEnv: { SETTLE_EVERY_SECONDS: '60', PAYMENT_GRACE_SECONDS: '600', VOUCHER_VERIFY_INTERVAL_MS: '200' },
      extraModules: [replaysModule],
    });
    firstBlock = (await live.client.api.rpc.chain.getHeader()).number.toNumber() + 1;
    creator = await live.open(live.wallets.alice);
    creatorToken = await signIn(live.server.url, live.wallets.alice);
  });

  afterAll(async () => {
    await live?.close();
  });

  it('records the stream, refuses its replay while live, and shows it ready at the replay price once ended', async () => {
    streamId = await live.announceStream(live.wallets.alice, 'Replay', PRICE);
    await callOk(creator, 'stream:goLive', { streamId, replayPricePerSecond: REPLAY_PRICE.toString() });
    await live.publish(creator, streamId);
    expect(live.sfu.recorder(streamId)).toBeDefined();
    await vi.waitFor(
      async () => {
        const { body } = await replayOf(streamId);
        expect(body.replay).toMatchObject({ status: 'recording' });
        expect((body.replay as ReplayInfo).durationSeconds).toBeGreaterThanOrEqual(7);
      },
      { timeout: 60_000, interval: 500 },
    );
    // Not watchable while it is being recorded: refused before anything about the session's funding is read.
    const early = live.newSession(live.wallets.dave, streamId);
    const daveSocket = await live.open(live.wallets.dave);
    expect(await call(daveSocket, 'replay:join', { streamId, session: early.payload })).toMatchObject({
      ok: false,
      code: 'STREAM_NOT_FOUND',
      details: { reason: 'recording' },
    });

    await callOk(creator, 'stream:end', { streamId });
    // Ready within seconds of the end (the recording ends as a VOD as the room closes).
    await vi.waitFor(async () => expect((await replayOf(streamId)).body.replay).toMatchObject({ status: 'ready' }), {
      timeout: 5_000,
      interval: 100,
    });
    const { status, body } = await replayOf(streamId);
    expect(status).toBe(200);
    const replay = body.replay as ReplayInfo;
    expect(replay).toMatchObject({
      streamId,
      title: 'Replay',
      status: 'ready',
      asset: 'native',
      pricePerSecond: REPLAY_PRICE.toString(),
      livePricePerSecond: PRICE.toString(),
    });
    expect(replay.durationSeconds).toBeGreaterThanOrEqual(7);
    expect(Number.isNaN(Date.parse(replay.createdAt))).toBe(false);
    expect(Date.parse(replay.endedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(replay.createdAt));
    const listed = (await request(`${live.server.url}/v1/replays?creator=${live.wallets.alice.address}`)).body;
    expect((listed.replays as ReplayInfo[]).map((r) => r.streamId)).toContain(streamId);
  });

  it('serves the recording to paying sessions only, charges each distinct second once, settled on chain', async () => {
    const { viewer, admission } = await joinReplay(live.wallets.bob, streamId);
    expect(admission).toMatchObject({ mode: 'replay' });
    expect(admission.playlistUrl).toContain(`/replay/${streamId}/index.m3u8`);
    expect(admission.exposure).toBeDefined();
    const { playlistUrl, token } = admission;

    // Unpaid: no token, a made-up one, or a replay token on the live path.
    expect(await edgeGet(playlistUrl)).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    expect(await edgeGet(playlistUrl, `${viewer.sessionId}.9999999999999.${'A'.repeat(43)}`)).toMatchObject({
      status: 401,
      code: 'UNAUTHENTICATED',
    });
    expect(await edgeGet(playlistUrl.replace('/replay/', '/hls/'), token)).toMatchObject({ status: 401 });

    // Paid: the VOD playlist and its segments.
    const playlist = await edgeGet(playlistUrl, token);
    expect(playlist.status).toBe(200);
    const { entries, ended } = parseMediaPlaylist(playlist.body.toString());
    expect(ended).toBe(true);
    expect(entries.length).toBeGreaterThanOrEqual(6);
    const noToken = await edgeGet(new URL(entries[0]?.uri ?? '', playlistUrl).href);
    expect(noToken).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    for (const index of FETCHED) {
      const seg = await edgeGet(new URL(entries[index]?.uri ?? '', playlistUrl).href, token);
      expect(seg.status, `segment ${index}`).toBe(200);
      expect(seg.body.length).toBeGreaterThan(0);
    }
    // Each distinct second is ticked once, at the replay price; fetching seen seconds again adds nothing.
    await vi.waitFor(() => expect(viewer.lastTick?.watchedSeconds).toBe(DISTINCT), { timeout: 20_000, interval: 100 });
    expect(viewer.lastTick?.owed).toBe((BigInt(DISTINCT) * REPLAY_PRICE).toString());
    expect((await edgeGet(new URL(entries[2]?.uri ?? '', playlistUrl).href, token)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(viewer.lastTick?.watchedSeconds).toBe(DISTINCT);

    const left = await callOk(viewer.socket, 'viewer:leave', {});
    expect(left).toMatchObject({ watchedSeconds: DISTINCT, owed: (BigInt(DISTINCT) * REPLAY_PRICE).toString() });
    // Nothing more once the session ended.
    expect((await edgeGet(new URL(entries[3]?.uri ?? '', playlistUrl).href, token)).status).toBe(401);
    // The same session joins again (a reload, another tab): the seconds it was charged are not charged again, kept in
    // the ledger across its leave; a second it had skipped is.
    const socket = await live.open(live.wallets.bob);
    const again = new PayingViewer(socket, live.client.facts.genesisHash, streamId, viewer.session);
    const rejoined = (await callOk(socket, 'replay:join', { streamId, session: viewer.session.payload })) as AckJson & {
      token: string;
    };
    expect(rejoined.session).toMatchObject({ resumed: true, watchedSeconds: DISTINCT });
    for (const index of [0, 1, 2, 3]) {
      expect((await edgeGet(new URL(entries[index]?.uri ?? '', playlistUrl).href, rejoined.token)).status).toBe(200);
    }
    const total = BigInt(DISTINCT + 1) * REPLAY_PRICE;
    await vi.waitFor(() => expect(again.lastTick?.watchedSeconds).toBe(DISTINCT + 1), {
      timeout: 20_000,
      interval: 100,
    });
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const last = await callOk(socket, 'viewer:leave', {});
    expect(last).toMatchObject({ watchedSeconds: DISTINCT + 1, owed: total.toString() });

    const ledger = live.ledger();
    expect(await ledger.session(viewer.sessionId)).toMatchObject({
      kind: 'replay',
      pricePerSecond: REPLAY_PRICE,
      status: 'closed',
      owed: total,
    });
    // Replay earnings are apart from the live ones.
    expect((await ledger.streamTotals(streamId)).owed).toBe(0n);
    expect((await ledger.streamTotals(streamId, 'replay')).owed).toBe(total);

    // A live payment remark (`ps1:pay`) from the replay session to the creator is no payment of this session: the
    // ledger never credits it (the replay's own settlement below brings the settled total to exactly `total`).
    const pair = sessionKeyPair(viewer.session.key, 42);
    const livePaid = buildSettlement(live.client, {
      streamId,
      sessionId: viewer.sessionId,
      seq: again.lastTick?.seq ?? 0,
      creator: live.wallets.alice.address,
      asset: 'native',
      amount: 1_111n,
    });
    expect((await live.submitter.submit(livePaid, pair)).ok).toBe(true);
    // The viewer settles as a live viewer does, with the replay remark (`ps1:replay`): the creator receives exactly
    // the distinct seconds × the replay price.
    const tx = await buildFinalSettlement(live.client, {
      kind: 'replay',
      streamId,
      sessionId: viewer.sessionId,
      seq: again.lastTick?.seq ?? 0,
      creator: live.wallets.alice.address,
      asset: 'native',
      amount: BigInt(last.owed as string) - BigInt(last.settled as string),
      sessionAccount: viewer.session.key.address,
      wallet: live.wallets.bob.address,
    });
    expect((await live.submitter.submit(tx, pair)).ok).toBe(true);
    await vi.waitFor(
      async () => {
        const s = await ledger.session(viewer.sessionId);
        expect((s?.settledPending ?? 0n) + (s?.settledFinal ?? 0n)).toBe(total);
      },
      { timeout: 30_000, interval: 200 },
    );
    const { api } = live.client;
    const head = (await api.rpc.chain.getHeader()).number.toNumber();
    const events: ProtocolEvent[] = [];
    for (let n = firstBlock; n <= head; n++) {
      events.push(...(await decodeBlock(api, (await api.rpc.chain.getBlockHash(n)).toHex(), 42)));
    }
    const paid = (kind: 'live' | 'replay') =>
      events.reduce(
        (sum, e) =>
          e.type === 'settlement' && e.sessionId === viewer.sessionId && e.sessionKind === kind ? sum + e.amount : sum,
        0n,
      );
    expect(paid('replay')).toBe(total);
    expect(paid('live')).toBe(1_111n);
    // Credited once final too: the live remark's payment still not.
    await vi.waitFor(async () => expect((await ledger.session(viewer.sessionId))?.settledFinal).toBe(total), {
      timeout: 30_000,
      interval: 200,
    });
  });

  it('deletes a replay for its creator only: its sessions end, its files go, nothing is served afterwards', async () => {
    const { viewer, admission } = await joinReplay(live.wallets.charlie, streamId);
    const released: unknown[] = [];
    viewer.socket.on('viewer:released', (p: unknown) => released.push(p));
    expect((await edgeGet(admission.playlistUrl, admission.token)).status).toBe(200);

    const bobToken = await signIn(live.server.url, live.wallets.bob);
    expect(await deleteReplay(streamId, bobToken)).toMatchObject({ status: 403, body: { code: 'NOT_CREATOR' } });
    expect((await deleteReplay(streamId, creatorToken)).body).toMatchObject({ ok: true, streamId });

    await vi.waitFor(() => expect(released).toEqual([expect.objectContaining({ reason: 'replay-deleted' })]), {
      timeout: 10_000,
      interval: 50,
    });
    expect(existsSync(recordingDirOf(live.sfu.config.recordingDir, streamId) ?? '')).toBe(false);
    expect(await replayOf(streamId)).toMatchObject({
      status: 404,
      body: { code: 'STREAM_NOT_FOUND', details: { reason: 'deleted' } },
    });
    expect((await edgeGet(admission.playlistUrl, admission.token)).status).not.toBe(200);
    const late = live.newSession(live.wallets.eve, streamId);
    const eveSocket = await live.open(live.wallets.eve);
    expect(await call(eveSocket, 'replay:join', { streamId, session: late.payload })).toMatchObject({
      ok: false,
      code: 'STREAM_NOT_FOUND',
      details: { reason: 'deleted' },
    });
    const listed = (await request(`${live.server.url}/v1/replays`)).body;
    expect((listed.replays as ReplayInfo[]).map((r) => r.streamId)).not.toContain(streamId);
    // Deleting again changes nothing.
    expect((await deleteReplay(streamId, creatorToken)).body).toMatchObject({ ok: true });
  });

  it('keeps no replay of a stream whose creator turned recording off before going live', async () => {
    const unrecorded = await live.announceStream(live.wallets.alice, 'Not recorded', PRICE);
    // A connection publishes one stream: the studio's next one comes on a new connection.
    const studio = await live.open(live.wallets.alice);
    await callOk(studio, 'stream:goLive', { streamId: unrecorded, record: false });
    await live.publish(studio, unrecorded);
    expect(live.sfu.recorder(unrecorded)).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    await callOk(studio, 'stream:end', { streamId: unrecorded });
    expect(await replayOf(unrecorded)).toMatchObject({
      status: 404,
      body: { code: 'STREAM_NOT_FOUND', details: { reason: 'no-replay' } },
    });
    expect(existsSync(recordingDirOf(live.sfu.config.recordingDir, unrecorded) ?? '')).toBe(false);
    const session = live.newSession(live.wallets.ferdie, unrecorded);
    const socket = await live.open(live.wallets.ferdie);
    expect(await call(socket, 'replay:join', { streamId: unrecorded, session: session.payload })).toMatchObject({
      ok: false,
      code: 'STREAM_NOT_FOUND',
      details: { reason: 'no-replay' },
    });
  });
});
