// Recording and replays across a signaling node's restart and crash, on the real parts: the real bin as its own OS
// process (mediasoup worker, ffmpeg relay recording, HLS edge child) on the dev chain, a scratch PostgreSQL database for
// its ledger and a private redis-server for its directory, so that a new process takes over what the last one left.
// - Stopped (SIGTERM) while a stream is recorded and watched live: the creator and the viewer come back to the new
//   process within the creator-away grace; the replay holds everything recorded before and after the restart, and the
//   live viewer's seconds are each charged once across both processes.
// - Stopped while a replay is watched: the session rejoins on the new process; the seconds it was delivered before
//   are charged once (none lost, none again on a re-fetch), and the chain's settlements say exactly that.
// - Killed (SIGKILL of the process group) mid-recording: the recording on disk plays up to the kill, and the next
//   process serves it as a replay.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildFinalSettlement,
  buildFunding,
  type ChainClient,
  connect,
  createSessionKey,
  type DevChain,
  decodeBlock,
  formatDelegation,
  type ProtocolEvent,
  sessionIdOf,
  sessionKeyPair,
  startDevChain,
  TxSubmitter,
} from '@persecond/contracts-client';
import { hlsDirOf, type PlaylistEntry, parseMediaPlaylist, recordingDirOf } from '@persecond/sfu';
import type { KeyringPair } from '@polkadot/keyring/types';
import { u8aToHex } from '@polkadot/util';
import pg from 'pg';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { probePackets, probePacketsThrough, readRecordingPlaylist } from '../../../sfu/test/helpers/recordingProbe.ts';
import { type RedisServer, startRedisServer } from '../faults/redisServer.ts';
import { devWallets, openSocket, request, signIn, signMessage } from '../support/clients.ts';
import { type LedgerBackend, postgresBackend } from '../support/ledgerBackends.ts';
import { type PaidSession, PayingViewer } from '../support/liveStream.ts';
import {
  type AckJson,
  callOk,
  type Publisher,
  registerJoinKey,
  startPublisher,
  startRtcViewer,
} from '../viewers-support.ts';
import { NodeProcess } from './nodeProcess.ts';

const DATABASE_URL = process.env.DATABASE_URL;
const PRICE = 1_000_000n;
const REPLAY_PRICE = 2_000_000n;
/** Long enough for a node to start again under load; the stream waits that long for its creator. */
const CREATOR_GRACE_SECONDS = 150;

interface EdgeAnswer {
  status: number;
  body: Buffer;
}

/** A GET of the HLS edge as a player makes it (`?token=`). */
async function edgeGet(url: string, token?: string): Promise<EdgeAnswer> {
  const u = new URL(url);
  if (token !== undefined) u.searchParams.set('token', token);
  const res = await fetch(u);
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
}

/** A ledger session's row as the node's database holds it. */
interface SessionRow {
  kind: string;
  status: string;
  watchedSeconds: number;
  lastSeq: number;
  owed: bigint;
}

describe.skipIf(!DATABASE_URL)('replays across a restart and a crash of the signaling process', () => {
  const dirs: string[] = [];
  const sockets: Socket[] = [];
  const peers: { close(): void }[] = [];
  const nodes: NodeProcess[] = [];
  let chain: DevChain;
  let client: ChainClient;
  let submitter: TxSubmitter;
  let redis: RedisServer;
  let ledgerDb: LedgerBackend;
  let db: pg.Client;
  let wallets: Awaited<ReturnType<typeof devWallets>>;
  let hlsDir: string;
  let env: NodeJS.ProcessEnv;
  let node: NodeProcess;
  let firstBlock = 0;

  const tempDir = (name: string) => {
    const dir = mkdtempSync(join(tmpdir(), `persecond-${name}-`));
    dirs.push(dir);
    return dir;
  };
  const startNode = async (): Promise<NodeProcess> => {
    const started = await NodeProcess.start(env);
    nodes.push(started);
    node = started;
    return started;
  };
  const open = async (pair: KeyringPair): Promise<Socket> => {
    const socket = await openSocket(node.url, await signIn(node.url, pair));
    sockets.push(socket);
    return socket;
  };
  const session = async (id: string): Promise<SessionRow | undefined> => {
    const { rows } = await db.query(
      'select kind, status, watched_seconds, last_seq, owed from signaling.viewer_sessions where session_id = $1',
      [id],
    );
    const r = rows[0];
    return (
      r && {
        kind: r.kind,
        status: r.status,
        watchedSeconds: Number(r.watched_seconds),
        lastSeq: Number(r.last_seq),
        owed: BigInt(r.owed),
      }
    );
  };
  const replayOf = (streamId: string) => request(`${node.url}/v1/streams/${streamId}/replay`);
  const recordingDir = (streamId: string) => recordingDirOf(join(hlsDir, '.recordings'), streamId) as string;
  const recordingJson = (streamId: string) => {
    try {
      return JSON.parse(readFileSync(join(recordingDir(streamId), 'recording.json'), 'utf8')) as {
        durationSeconds: number;
        startedAt: string;
        endedAt: string | null;
      };
    } catch {
      return undefined;
    }
  };

  /** Creates, announces and takes live a stream of Alice on the current node, publishing from `creator`. */
  const liveStream = async (title: string): Promise<{ streamId: string; creator: Socket; publisher: Publisher }> => {
    const { body } = await request(`${node.url}/v1/streams`, {
      token: await signIn(node.url, wallets.alice),
      body: { title, pricePerSecond: PRICE.toString(), asset: 'native' },
    });
    if (!body.ok) throw new Error(`stream creation refused: ${body.code}`);
    const { streamId, announcement } = body as unknown as { streamId: string; announcement: { callData: string } };
    const res = await submitter.submit(
      client.api.tx(client.api.createType('Call', announcement.callData)),
      wallets.alice,
    );
    expect(res.ok).toBe(true);
    await vi.waitFor(
      async () =>
        expect(((await request(`${node.url}/v1/streams/${streamId}`)).body.stream as { status: string }).status).toBe(
          'announced',
        ),
      { timeout: 60_000, interval: 200 },
    );
    const creator = await open(wallets.alice);
    await callOk(creator, 'stream:goLive', { streamId, replayPricePerSecond: REPLAY_PRICE.toString() });
    const publisher = await startPublisher(creator, streamId);
    peers.push(publisher);
    return { streamId, creator, publisher };
  };

  /** A session of `wallet` for `streamId`, its delegation signed and its budget funded on chain. */
  const fundedSession = async (wallet: KeyringPair, streamId: string): Promise<PaidSession> => {
    const key = createSessionKey(42);
    const sessionId = sessionIdOf(key.address);
    const budget = 10n ** 12n;
    const message = formatDelegation({
      genesisHash: client.facts.genesisHash,
      streamId,
      sessionId,
      sessionAccount: key.address,
      asset: 'native',
      budget,
    });
    const payload: PaidSession['payload'] = {
      sessionId,
      sessionKey: u8aToHex(key.publicKey),
      budget: budget.toString(),
      delegation: { message, signature: signMessage(wallet, message) },
    };
    registerJoinKey(payload, key, client.facts.genesisHash);
    const funded = await submitter.submit(
      buildFunding(client, { sessionId, sessionAccount: key.address, asset: 'native', budget }),
      wallet,
    );
    if (!funded.ok) throw new Error('funding failed');
    payload.fundedIn = funded.blockHash;
    return { key, sessionId, budget, payload };
  };

  /** Joins `s` to the replay of `streamId` on the current node, on a new socket acknowledging every tick. */
  const joinReplay = async (wallet: KeyringPair, streamId: string, s: PaidSession) => {
    const socket = await open(wallet);
    const viewer = new PayingViewer(socket, client.facts.genesisHash, streamId, s);
    const admission = (await callOk(socket, 'replay:join', { streamId, session: s.payload })) as AckJson & {
      playlistUrl: string;
      token: string;
      session: { resumed: boolean; watchedSeconds: number };
    };
    return { viewer, admission };
  };

  /** Settlement events of the chain since the test began. */
  const chainEvents = async (): Promise<ProtocolEvent[]> => {
    const { api } = client;
    const head = (await api.rpc.chain.getHeader()).number.toNumber();
    const events: ProtocolEvent[] = [];
    for (let n = firstBlock; n <= head; n++) {
      events.push(...(await decodeBlock(api, (await api.rpc.chain.getBlockHash(n)).toHex(), 42)));
    }
    return events;
  };

  beforeAll(async () => {
    wallets = await devWallets();
    [chain, redis, ledgerDb] = await Promise.all([
      startDevChain(),
      startRedisServer(),
      postgresBackend(DATABASE_URL as string),
    ]);
    client = await connect(chain.wsUrl);
    submitter = new TxSubmitter(client.api);
    firstBlock = (await client.api.rpc.chain.getHeader()).number.toNumber() + 1;
    db = new pg.Client({ connectionString: (ledgerDb.config as { databaseUrl: string }).databaseUrl });
    await db.connect();
    hlsDir = tempDir('restart-hls');
    env = {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: '0',
      HLS_EDGE_PORT: '0',
      RTMP_PORT: '0',
      LOG_LEVEL: 'warn',
      CHAIN_WS_URL: chain.wsUrl,
      REDIS_URL: redis.url,
      SESSION_SECRET: randomUUID() + randomUUID(),
      DATABASE_URL: (ledgerDb.config as { databaseUrl: string }).databaseUrl,
      IPFS_RPC_URL: '',
      SIGNALING_DATA_DIR: tempDir('restart-signaling'),
      IPFS_DIR: tempDir('restart-ipfs'),
      HLS_DIR: hlsDir,
      SFU_NUM_WORKERS: '1',
      HLS_LADDER: 'high:720:2500',
      THUMBNAIL_INTERVAL_SECONDS: '0',
      RECORDING: 'on',
      STREAM_CREATOR_GRACE_SECONDS: String(CREATOR_GRACE_SECONDS),
      // Viewers settle at the end only; vouchers verified at once.
      SETTLE_EVERY_SECONDS: '600',
      PAYMENT_GRACE_SECONDS: '600',
      VOUCHER_VERIFY_INTERVAL_MS: '200',
    };
    await startNode();
  }, 300_000);

  afterAll(async () => {
    for (const p of peers) p.close();
    for (const s of sockets) s.close();
    for (const n of nodes) await n.kill();
    await db?.end();
    await client?.close();
    await chain?.close();
    await redis?.close();
    await ledgerDb?.dispose();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  });

  let recordedStream = '';

  it('stopped while recording and watched live: the replay covers before and after, no second charged twice', async () => {
    const { streamId, creator, publisher } = await liveStream('Across a restart');
    recordedStream = streamId;
    const s = await fundedSession(wallets.bob, streamId);
    const socketA = await open(wallets.bob);
    const before = new PayingViewer(socketA, client.facts.genesisHash, streamId, s);
    await callOk(socketA, 'viewer:join', { streamId, mode: 'webrtc', session: s.payload });
    peers.push(await startRtcViewer(socketA, streamId, { follow: true }));
    // Recorded for a while (the recording's own duration) and watched (ticks).
    await vi.waitFor(() => expect(recordingJson(streamId)?.durationSeconds ?? 0).toBeGreaterThanOrEqual(6), {
      timeout: 90_000,
      interval: 250,
    });
    await vi.waitFor(() => expect(before.lastTick?.seq ?? 0).toBeGreaterThanOrEqual(4), { timeout: 30_000 });

    const stoppedAt = Date.now();
    expect(await node.stop()).toBe(0);
    publisher.close();
    // The stopped process ended its recording as a VOD, with every segment its relay had written.
    const first = await readRecordingPlaylist(join(recordingDir(streamId), 'index.m3u8'));
    expect(first.ended).toBe(true);
    const recordedBefore = recordingJson(streamId);
    expect(recordedBefore?.endedAt).not.toBeNull();
    // It recorded the stream up to the stop: from its first segment's arrival on, within two segments (one being
    // written at the stop, and the first one's own second before it arrived).
    const liveFor = (stoppedAt - Date.parse(recordedBefore?.startedAt ?? '')) / 1000;
    expect(first.seconds).toBeGreaterThanOrEqual(liveFor - 2);
    const inodesBefore = first.entries.map((e) => statSync(join(recordingDir(streamId), e.uri)).ino);
    const atStop = await session(s.sessionId);
    expect(atStop).toMatchObject({ kind: 'live', status: 'active' });

    // A new process on the same data: the creator goes live again within the grace, the viewer rejoins.
    await startNode();
    const creatorB = await open(wallets.alice);
    await callOk(creatorB, 'stream:goLive', { streamId });
    peers.push(await startPublisher(creatorB, streamId));
    const socketB = await open(wallets.bob);
    const after = new PayingViewer(socketB, client.facts.genesisHash, streamId, s);
    const rejoined = (await callOk(socketB, 'viewer:join', {
      streamId,
      mode: 'webrtc',
      session: s.payload,
    })) as AckJson & {
      session: { resumed: boolean };
    };
    expect(rejoined.session).toMatchObject({ resumed: true });
    peers.push(await startRtcViewer(socketB, streamId, { follow: true }));
    await vi.waitFor(
      () => expect(recordingJson(streamId)?.durationSeconds ?? 0).toBeGreaterThanOrEqual(first.seconds + 5),
      { timeout: 90_000, interval: 250 },
    );
    await vi.waitFor(() => expect(after.ticks.length).toBeGreaterThanOrEqual(3), { timeout: 30_000 });
    await callOk(creatorB, 'stream:end', { streamId });
    creator.close();

    // The replay: ready seconds after the end, the segments from before the restart first (the same files), then a
    // discontinuity and those recorded after it; ffprobe reads every packet of it through its playlist.
    await vi.waitFor(async () => expect((await replayOf(streamId)).body.replay).toMatchObject({ status: 'ready' }), {
      timeout: 10_000,
      interval: 100,
    });
    const whole = await readRecordingPlaylist(join(recordingDir(streamId), 'index.m3u8'));
    expect(whole.ended).toBe(true);
    const prefix = whole.entries.slice(0, first.entries.length);
    expect(prefix.map((e) => [e.uri, e.duration])).toEqual(first.entries.map((e) => [e.uri, e.duration]));
    expect(prefix.map((e) => statSync(join(recordingDir(streamId), e.uri)).ino)).toEqual(inodesBefore);
    const resumed = whole.entries[first.entries.length] as PlaylistEntry;
    expect(resumed.discontinuity).toBe(true);
    expect(whole.seconds - first.seconds).toBeGreaterThanOrEqual(5);
    const replay = (await replayOf(streamId)).body.replay as { durationSeconds: number; pricePerSecond: string };
    expect(replay.durationSeconds).toBeCloseTo(whole.seconds, 3);
    expect(replay.pricePerSecond).toBe(REPLAY_PRICE.toString());
    let packets = 0;
    for (const e of whole.entries) packets += await probePackets(join(recordingDir(streamId), e.uri));
    expect(await probePacketsThrough(join(recordingDir(streamId), 'index.m3u8'))).toBe(packets);

    // The live viewer: one tick per metered second across both processes, each seq once, the new process going on
    // from what the ledger holds; the ledger's session says the same.
    const ticks = [...before.ticks, ...after.ticks];
    const bySeq = new Map<number, (typeof ticks)[number]>();
    for (const t of ticks) {
      const seen = bySeq.get(t.seq);
      if (seen) expect([seen.watchedSeconds, seen.owed]).toEqual([t.watchedSeconds, t.owed]);
      bySeq.set(t.seq, t);
    }
    const seqs = [...bySeq.keys()].sort((a, b) => a - b);
    for (let i = 1; i < seqs.length; i++) {
      const [prev, cur] = [bySeq.get(seqs[i - 1] as number), bySeq.get(seqs[i] as number)];
      // Ticks the viewer missed while away were never sent: a gap in seqs is a gap of as many seconds.
      expect((cur?.watchedSeconds ?? 0) - (prev?.watchedSeconds ?? 0)).toBe((cur?.seq ?? 0) - (prev?.seq ?? 0));
      expect(BigInt(cur?.owed ?? -1)).toBe(BigInt(cur?.watchedSeconds ?? 0) * PRICE);
    }
    expect(after.ticks[0]?.seq).toBe((atStop?.lastSeq ?? 0) + 1);
    expect(after.ticks[0]?.watchedSeconds).toBe((atStop?.watchedSeconds ?? 0) + 1);
    const left = await callOk(socketB, 'viewer:leave', {});
    const last = bySeq.get(seqs.at(-1) as number);
    const closed = await session(s.sessionId);
    expect(closed?.status).toBe('closed');
    expect(closed?.lastSeq).toBeGreaterThanOrEqual(seqs.at(-1) as number);
    expect(closed?.watchedSeconds).toBeGreaterThanOrEqual(last?.watchedSeconds ?? Number.POSITIVE_INFINITY);
    expect(closed?.owed).toBe(BigInt(closed?.watchedSeconds ?? 0) * PRICE);
    expect(left).toMatchObject({ owed: closed?.owed.toString(), watchedSeconds: closed?.watchedSeconds });
  }, 360_000);

  it('stopped while a replay is watched: the session resumes, each second delivered is charged once', async () => {
    const streamId = recordedStream;
    const s = await fundedSession(wallets.charlie, streamId);
    const first = await joinReplay(wallets.charlie, streamId, s);
    const playlist = await edgeGet(first.admission.playlistUrl, first.admission.token);
    expect(playlist.status).toBe(200);
    const { entries } = parseMediaPlaylist(playlist.body.toString());
    expect(entries.length).toBeGreaterThanOrEqual(10);
    const segment = (url: string, i: number) => new URL(entries[i]?.uri ?? '', url).href;
    for (const i of [0, 1, 2, 3]) {
      expect((await edgeGet(segment(first.admission.playlistUrl, i), first.admission.token)).status).toBe(200);
    }
    await vi.waitFor(() => expect(first.viewer.lastTick?.watchedSeconds).toBe(4), { timeout: 20_000, interval: 100 });
    // Two more seconds delivered, then the process is stopped at once: what the edge served and the meter had not
    // charged yet is charged by the shutdown, not lost.
    for (const i of [4, 5]) {
      expect((await edgeGet(segment(first.admission.playlistUrl, i), first.admission.token)).status).toBe(200);
    }
    expect(await node.stop()).toBe(0);
    expect(await session(s.sessionId)).toMatchObject({ kind: 'replay', watchedSeconds: 6, owed: 6n * REPLAY_PRICE });

    await startNode();
    const again = await joinReplay(wallets.charlie, streamId, s);
    expect(again.admission.session).toMatchObject({ resumed: true, watchedSeconds: 6 });
    const url = again.admission.playlistUrl;
    // Seconds it had: served, not charged again.
    for (const i of [0, 1, 2, 3, 4, 5]) {
      expect((await edgeGet(segment(url, i), again.admission.token)).status).toBe(200);
    }
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(await session(s.sessionId)).toMatchObject({ watchedSeconds: 6 });
    // New ones: charged once each.
    for (const i of [6, 7, 6]) expect((await edgeGet(segment(url, i), again.admission.token)).status).toBe(200);
    await vi.waitFor(() => expect(again.viewer.lastTick?.watchedSeconds).toBe(8), { timeout: 20_000, interval: 100 });
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const left = await callOk(again.viewer.socket, 'viewer:leave', {});
    const total = 8n * REPLAY_PRICE;
    expect(left).toMatchObject({ watchedSeconds: 8, owed: total.toString() });
    const { rows } = await db.query('select seq from signaling.replay_watched where session_id = $1 order by seq', [
      s.sessionId,
    ]);
    expect(rows.length).toBe(8);

    // Settled as a viewer does at its end: the creator receives exactly the 8 distinct seconds at the replay price.
    const tx = await buildFinalSettlement(client, {
      streamId,
      sessionId: s.sessionId,
      seq: again.viewer.lastTick?.seq ?? 0,
      creator: wallets.alice.address,
      asset: 'native',
      amount: BigInt(left.owed as string) - BigInt(left.settled as string),
      sessionAccount: s.key.address,
      wallet: wallets.charlie.address,
    });
    expect((await submitter.submit(tx, sessionKeyPair(s.key, 42))).ok).toBe(true);
    const paid = (await chainEvents()).reduce(
      (sum, e) => (e.type === 'settlement' && e.sessionId === s.sessionId ? sum + e.amount : sum),
      0n,
    );
    expect(paid).toBe(total);
  }, 300_000);

  it('killed mid-recording: the recording plays up to the kill and the next process serves it as a replay', async () => {
    const { streamId } = await liveStream('Killed while recorded');
    await vi.waitFor(() => expect(recordingJson(streamId)?.durationSeconds ?? 0).toBeGreaterThanOrEqual(6), {
      timeout: 90_000,
      interval: 250,
    });
    await node.kill();

    // What the relay had written at the kill (its live playlist, left on disk) against what was recorded: the same
    // files (hard links), all but at most the last two (written within the recorder's last half-segment take, or while
    // it was queued behind the previous one).
    const dir = recordingDir(streamId);
    const recorded = await readRecordingPlaylist(join(dir, 'index.m3u8'));
    expect(recorded.ended).toBe(false);
    expect(recorded.entries.length).toBeGreaterThanOrEqual(6);
    const recordedInodes = new Set(recorded.entries.map((e) => statSync(join(dir, e.uri)).ino));
    const liveDir = hlsDirOf(hlsDir, streamId) as string;
    const live = parseMediaPlaylist(readFileSync(join(liveDir, 'index.m3u8'), 'utf8')).entries.filter((e) =>
      readdirSync(liveDir).includes(e.uri),
    );
    expect(live.length).toBeGreaterThan(0);
    const taken = live.map((e) => recordedInodes.has(statSync(join(liveDir, e.uri)).ino));
    const missing = taken.length - taken.lastIndexOf(true) - 1;
    expect(taken.slice(0, taken.length - missing).every(Boolean)).toBe(true);
    expect(missing).toBeLessThanOrEqual(2);
    // A player reads it from its first segment to its last: every packet of every listed segment.
    let packets = 0;
    for (const e of recorded.entries) packets += await probePackets(join(dir, e.uri));
    expect(packets).toBeGreaterThan(0);
    expect(await probePacketsThrough(join(dir, 'index.m3u8'))).toBe(packets);

    // The next process ends it as a VOD and serves it as the stream's replay, to a paying session.
    await startNode();
    await vi.waitFor(async () => expect((await replayOf(streamId)).body.replay).toMatchObject({ status: 'ready' }), {
      timeout: 30_000,
      interval: 200,
    });
    const replay = (await replayOf(streamId)).body.replay as { durationSeconds: number };
    expect(replay.durationSeconds).toBeCloseTo(recorded.seconds, 3);
    const s = await fundedSession(wallets.dave, streamId);
    const { admission } = await joinReplay(wallets.dave, streamId, s);
    const served = await edgeGet(admission.playlistUrl, admission.token);
    expect(served.status).toBe(200);
    const vod = parseMediaPlaylist(served.body.toString());
    expect(vod.ended).toBe(true);
    expect(vod.entries.map((e) => [e.uri, e.duration])).toEqual(recorded.entries.map((e) => [e.uri, e.duration]));
    const lastSegment = new URL(vod.entries.at(-1)?.uri ?? '', admission.playlistUrl).href;
    expect((await edgeGet(lastSegment, admission.token)).status).toBe(200);
  }, 300_000);
});
