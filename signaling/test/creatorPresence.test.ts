// The creator's side of a live stream, seen by a paying WebRTC viewer: producers added after the viewer consumed
// (`rtc:newProducers`), the creator's connection dropping (media paused, nothing charged) and coming back within the
// grace period, or not coming back (the stream ends and the viewer's session closes at what was metered).
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  buildFunding,
  type ChainClient,
  connect,
  createSessionKey,
  type DevChain,
  formatDelegation,
  type SessionKey,
  signVoucher,
  startDevChain,
  TxSubmitter,
} from '@persecond/contracts-client';
import { loadSfuConfig, Sfu } from '@persecond/sfu';
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import { stringToU8a, u8aToHex, u8aWrapBytes } from '@polkadot/util';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { authModule } from '../src/auth/AuthModule.ts';
import { loadAuthConfig } from '../src/auth/config.ts';
import {
  createPinner,
  createSignalingServer,
  loadSignalingConfig,
  type NewProducer,
  type Pinner,
  type SignalingServer,
  type StreamSummary,
  type Tick,
} from '../src/index.ts';
import { createLedgerModule, type LedgerModule } from '../src/ledger/ledgerModule.ts';
import { publishingModule } from '../src/publishing/PublishingModule.ts';
import { loadStreamsConfig } from '../src/streams/config.ts';
import { streamsModule } from '../src/streams/StreamsModule.ts';
import { loadViewersConfig } from '../src/viewers/config.ts';
import { type ViewersModule, viewersModule } from '../src/viewers/ViewersModule.ts';
import { request as httpRequest, openSocket, signIn } from './support/clients.ts';
import {
  type AckJson,
  call,
  callOk,
  type Publisher,
  type RtcViewer,
  startPublisher,
  startRtcViewer,
} from './viewers-support.ts';

const PRICE = 1_000_000n;
const CREATOR_GRACE_SECONDS = 6;

/** A paying viewer's socket: acknowledges every tick with a voucher and records what the server says. */
class PayingViewer {
  readonly ticks: Tick[] = [];
  readonly events: { name: string; at: number; payload: unknown }[] = [];

  constructor(
    readonly socket: Socket,
    readonly genesisHash: string,
    readonly streamId: string,
    readonly sessionId: string,
    readonly key: SessionKey,
  ) {
    socket.on('tick', (t: Tick) => {
      this.ticks.push(t);
      const voucher = { genesisHash, streamId, sessionId, seq: t.seq, owed: BigInt(t.owed) };
      void call(socket, 'tick:ack', { seq: t.seq, owed: t.owed, signature: signVoucher(key, voucher) });
    });
    for (const name of ['media:paused', 'media:resumed', 'stream:ended', 'rtc:newProducers', 'payment:required']) {
      socket.on(name, (payload: unknown) => this.events.push({ name, at: Date.now(), payload }));
    }
  }

  payloads(name: string): unknown[] {
    return this.events.filter((e) => e.name === name).map((e) => e.payload);
  }
}

describe('the creator’s side of a live stream: new producers, disconnects, the grace period', () => {
  let chain: DevChain;
  let client: ChainClient;
  let submitter: TxSubmitter;
  let sfu: Sfu;
  let pinner: Pinner;
  let server: SignalingServer;
  let alice: KeyringPair;
  let bob: KeyringPair;
  let charlie: KeyringPair;
  const sockets: Socket[] = [];
  const publishers: Publisher[] = [];
  const rtcViewers: RtcViewer[] = [];
  const ipfsDir = mkdtempSync(join(tmpdir(), 'persecond-ipfs-'));
  const hlsDir = mkdtempSync(join(tmpdir(), 'persecond-hls-'));
  const secret = randomUUID() + randomUUID();

  const open = async (pair: KeyringPair): Promise<Socket> => {
    const socket = await openSocket(server.url, await signIn(server.url, pair));
    sockets.push(socket);
    return socket;
  };
  const request = async (path: string, token?: string) =>
    (await httpRequest(`${server.url}${path}`, token ? { token } : {})).body as AckJson;
  const statusOf = async (streamId: string) =>
    ((await request(`/v1/streams/${streamId}`)).stream as { status: string } | undefined)?.status;
  const listed = async () => ((await request('/v1/streams')).streams as StreamSummary[]).map((s) => s.streamId);
  const createLiveStream = async (creator: Socket): Promise<string> => {
    const created = (
      await httpRequest(`${server.url}/v1/streams`, {
        token: await signIn(server.url, alice),
        body: { title: 'Creator presence', pricePerSecond: PRICE.toString(), asset: 'native' },
      })
    ).body as { streamId: string; announcement: { callData: string } } & AckJson;
    expect(created.ok).toBe(true);
    const tx = client.api.tx(client.api.createType('Call', created.announcement.callData));
    expect((await submitter.submit(tx, alice)).ok).toBe(true);
    await vi.waitFor(async () => expect(await statusOf(created.streamId)).toBe('announced'), {
      timeout: 15_000,
      interval: 100,
    });
    await callOk(creator, 'stream:goLive', { streamId: created.streamId });
    return created.streamId;
  };
  /** A funded session of `wallet` joined over WebRTC, consuming (and following new producers). */
  const joinViewer = async (wallet: KeyringPair, streamId: string) => {
    const key = createSessionKey(42);
    const sessionId = randomBytes(12).toString('base64url');
    const budget = 10n ** 12n;
    const message = formatDelegation({
      genesisHash: client.facts.genesisHash,
      streamId,
      sessionId,
      sessionAccount: key.address,
      asset: 'native',
      budget,
    });
    const funding = buildFunding(client, { sessionId, sessionAccount: key.address, asset: 'native', budget });
    expect((await submitter.submit(funding, wallet)).ok).toBe(true);
    const socket = await open(wallet);
    const viewer = new PayingViewer(socket, client.facts.genesisHash, streamId, sessionId, key);
    await callOk(socket, 'viewer:join', {
      streamId,
      mode: 'webrtc',
      session: {
        sessionId,
        sessionKey: u8aToHex(key.publicKey),
        budget: budget.toString(),
        delegation: { message, signature: u8aToHex(wallet.sign(u8aWrapBytes(stringToU8a(message)))) },
      },
    });
    const rtc = await startRtcViewer(socket, streamId, { follow: true });
    rtcViewers.push(rtc);
    return { viewer, rtc };
  };
  const publish = async (creator: Socket, streamId: string, kinds?: ('audio' | 'video')[]) => {
    const p = await startPublisher(creator, streamId, kinds);
    publishers.push(p);
    return p;
  };
  const viewers = () => server.modules.get('viewers') as ViewersModule;
  const ledger = () => (server.modules.get('ledger') as LedgerModule).ledger;

  beforeAll(async () => {
    await cryptoWaitReady();
    const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
    alice = keyring.addFromUri('//Alice');
    bob = keyring.addFromUri('//Bob');
    charlie = keyring.addFromUri('//Charlie');
    chain = await startDevChain();
    client = await connect(chain.wsUrl);
    submitter = new TxSubmitter(client.api);
    pinner = await createPinner({ backend: 'helia', dir: ipfsDir });
    sfu = await Sfu.create(loadSfuConfig({ SFU_NUM_WORKERS: '1', LOG_LEVEL: 'silent', HLS_DIR: hlsDir }));
    server = await createSignalingServer(loadSignalingConfig({ PORT: '0', LOG_LEVEL: 'silent' }), {
      sfu,
      pinner,
      chain: client,
      modules: [
        authModule(loadAuthConfig({ SESSION_SECRET: secret })),
        streamsModule(loadStreamsConfig({ STREAM_CREATOR_GRACE_SECONDS: String(CREATOR_GRACE_SECONDS) })),
        publishingModule(),
        createLedgerModule({ config: { dataDir: 'memory://' } }),
        // Settlement windows far beyond the test: only the creator's presence starts and stops media here.
        viewersModule(loadViewersConfig({ SETTLE_EVERY_SECONDS: '60', PAYMENT_GRACE_SECONDS: '600' })),
      ],
    });
  });

  afterAll(async () => {
    for (const v of rtcViewers) v.close();
    for (const p of publishers) p.close();
    for (const s of sockets) s.close();
    await server?.close();
    await sfu?.close();
    await pinner?.close();
    await client?.close();
    await chain?.close();
    rmSync(ipfsDir, { recursive: true, force: true });
    rmSync(hlsDir, { recursive: true, force: true });
  });

  let streamId: string;
  let watcher: { viewer: PayingViewer; rtc: RtcViewer };

  it('gives a viewer that consumed the video the audio the creator adds later', async () => {
    const creator = await open(alice);
    streamId = await createLiveStream(creator);
    const publisher = await publish(creator, streamId, ['video']);
    watcher = await joinViewer(bob, streamId);
    const { viewer, rtc } = watcher;
    expect(rtc.kinds).toEqual(['video']);
    await vi.waitFor(() => expect(rtc.frames).toBeGreaterThan(10), { timeout: 20_000, interval: 100 });
    await vi.waitFor(() => expect(viewer.ticks.length).toBeGreaterThanOrEqual(2), { timeout: 15_000, interval: 100 });
    expect(rtc.audioFrames).toBe(0);

    const audioId = await publisher.add('audio');
    await vi.waitFor(() => expect(rtc.kinds).toEqual(['video', 'audio']), { timeout: 10_000, interval: 50 });
    expect(viewer.payloads('rtc:newProducers')).toEqual([
      { streamId, producers: [{ producerId: audioId, kind: 'audio' } satisfies NewProducer] },
    ]);
    await vi.waitFor(() => expect(rtc.audioFrames).toBeGreaterThan(50), { timeout: 15_000, interval: 100 });
    const frames = rtc.frames;
    await vi.waitFor(() => expect(rtc.frames).toBeGreaterThan(frames + 10), { timeout: 10_000, interval: 100 });
  });

  it('pauses media without charging while the creator is away, and resumes when it publishes again in time', async () => {
    const { viewer, rtc } = watcher;
    const [creatorSocket] = sockets;
    const away = Date.now();
    for (const p of publishers.splice(0)) p.close();
    creatorSocket?.close();
    await vi.waitFor(() => expect(viewer.payloads('media:paused')).toEqual([{ reason: 'creator-away' }]), {
      timeout: 5_000,
      interval: 50,
    });
    // A tick of the last second with media may still be on its way; after that, nothing.
    await sleep(1200);
    const frozen = viewer.ticks.length;
    const frames = rtc.frames;
    await sleep(1500);
    expect(viewer.ticks.length).toBe(frozen);
    expect(rtc.frames).toBe(frames);
    expect(Date.now() - away).toBeLessThan(CREATOR_GRACE_SECONDS * 1000);

    // The creator reconnects and publishes again: the viewer gets the new producers and media resumes.
    const creator = await open(alice);
    await callOk(creator, 'stream:goLive', { streamId });
    const publisher = await publish(creator, streamId);
    await vi.waitFor(() => expect(rtc.kinds).toEqual(['video', 'audio', 'video', 'audio']), {
      timeout: 10_000,
      interval: 50,
    });
    expect(viewer.payloads('rtc:newProducers').slice(1)).toEqual(
      publisher.producerIds.map((producerId, i) => ({
        streamId,
        producers: [{ producerId, kind: i === 0 ? 'video' : 'audio' }],
      })),
    );
    expect(viewer.payloads('media:resumed')).toHaveLength(1);
    await vi.waitFor(() => expect(rtc.frames).toBeGreaterThan(frames + 10), { timeout: 15_000, interval: 100 });
    await vi.waitFor(() => expect(viewer.ticks.length).toBeGreaterThan(frozen + 2), { timeout: 15_000, interval: 100 });
    viewer.ticks.forEach((t, i) => {
      expect(t).toMatchObject({ seq: i + 1, watchedSeconds: i + 1, owed: (BigInt(i + 1) * PRICE).toString() });
    });

    // Past the grace period the stream is still live: the creator came back.
    await sleep(Math.max(0, CREATOR_GRACE_SECONDS * 1000 + 1000 - (Date.now() - away)));
    expect(await statusOf(streamId)).toBe('live');
    expect(viewer.payloads('stream:ended')).toEqual([]);
    expect(await listed()).toContain(streamId);
  });

  it('ends the stream when the creator does not come back: viewers told, sessions closed at what was metered', async () => {
    const creator = await open(alice);
    const ending = await createLiveStream(creator);
    const publisher = await publish(creator, ending);
    const { viewer, rtc } = await joinViewer(charlie, ending);
    await vi.waitFor(() => expect(viewer.ticks.length).toBeGreaterThanOrEqual(2), { timeout: 20_000, interval: 100 });
    expect(rtc.kinds).toEqual(['video', 'audio']);

    const away = Date.now();
    publisher.close();
    creator.close();
    await vi.waitFor(() => expect(viewer.payloads('media:paused')).toEqual([{ reason: 'creator-away' }]), {
      timeout: 5_000,
      interval: 50,
    });
    expect(await listed()).toContain(ending);
    await vi.waitFor(() => expect(viewer.payloads('stream:ended')).toEqual([{ streamId: ending }]), {
      timeout: CREATOR_GRACE_SECONDS * 1000 + 10_000,
      interval: 100,
    });
    const endedAfter = (viewer.events.find((e) => e.name === 'stream:ended')?.at ?? 0) - away;
    expect(endedAfter).toBeGreaterThanOrEqual(CREATOR_GRACE_SECONDS * 1000 - 200);

    expect(await statusOf(ending)).toBe('ended');
    expect(await listed()).not.toContain(ending);
    expect(sfu.getRoom(ending)).toBeUndefined();
    expect(viewers().viewer(viewer.sessionId)).toBeUndefined();
    // Closed at the last tick the viewer got: the seconds without media cost nothing.
    const last = viewer.ticks.at(-1) as Tick;
    const stored = await ledger().session(viewer.sessionId);
    expect(stored).toMatchObject({ status: 'closed', lastSeq: last.seq, watchedSeconds: last.watchedSeconds });
    expect(stored?.owed).toBe(BigInt(last.owed));
    // The client's own leave (the dapp sends one on stream:ended) still gets the totals.
    expect(await callOk(viewer.socket, 'viewer:leave', {})).toMatchObject({ owed: last.owed, settled: '0' });
    expect(await call(viewer.socket, 'viewer:leave', {})).toMatchObject({ ok: false, code: 'BAD_REQUEST' });

    const again = await open(alice);
    expect(await call(again, 'stream:goLive', { streamId: ending })).toMatchObject({
      ok: false,
      code: 'STREAM_NOT_LIVE',
      details: { reason: 'ended' },
    });
  });
});
