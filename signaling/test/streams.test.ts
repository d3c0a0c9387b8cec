import { randomUUID } from 'node:crypto';
import { creatorExposureSeconds, viewerExposureSeconds } from '@persecond/contracts-client';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sameAccount } from '../src/accounts.ts';
import { authModule } from '../src/auth/AuthModule.ts';
import { loadAuthConfig } from '../src/auth/config.ts';
import type { NodePaymentTerms, SignalingServer, StreamSummary } from '../src/index.ts';
import { fetchStreamMetadata } from '../src/metadata/streamMetadataPinning.ts';
import { loadStreamsConfig } from '../src/streams/config.ts';
import { type StreamDetails, type StreamsModule, streamRoom, streamsModule } from '../src/streams/StreamsModule.ts';
import { loadViewersConfig } from '../src/viewers/config.ts';
import { devWallets, type Json, openSocket, request, signIn } from './support/clients.ts';
import { deleteRedisKeys } from './support/redisKeys.ts';
import { type SignalingStack, startSignalingStack } from './support/signalingStack.ts';

const REDIS_URL = process.env.REDIS_URL;

interface Created extends Json {
  streamId: string;
  metadataCid: string;
  terms: { settleEverySeconds: number; payAhead: boolean };
  announcement: { callData: string };
}

describe('streams module: create, announce on chain, go live, end', () => {
  let stack: SignalingStack;
  let server: SignalingServer;
  let alice: KeyringPair;
  let bob: KeyringPair;
  let aliceToken: string;
  let bobToken: string;
  let aliceSocket: Socket;
  let bobSocket: Socket;
  const sockets: Socket[] = [];
  const secret = randomUUID() + randomUUID();
  // Windows other than the defaults: what the node shows comes from the config it was given.
  const viewersConfig = loadViewersConfig({
    SETTLE_EVERY_SECONDS: '15',
    PAYMENT_GRACE_SECONDS: '7',
    VOUCHER_GRACE_SECONDS: '2',
    MIN_PREPAY_SECONDS: '20',
    VOUCHER_VERIFY_INTERVAL_MS: '2500',
    RECONNECT_GRACE_SECONDS: '9',
  });

  const open = async (base: string, token: string): Promise<Socket> => {
    const socket = await openSocket(base, token);
    sockets.push(socket);
    return socket;
  };
  const create = async (base: string, token: string, body: Record<string, unknown> = {}) => {
    const res = await request(`${base}/v1/streams`, {
      token,
      body: {
        title: 'Morning jam',
        description: 'Live from the studio',
        pricePerSecond: '1000000',
        asset: 'native',
        ...body,
      },
    });
    expect(res.body).toMatchObject({ ok: true });
    return res.body as Created;
  };
  const announce = async (created: Created, signer: KeyringPair) => {
    const result = await stack.submitter.submit(
      stack.client.api.tx(stack.client.api.createType('Call', created.announcement.callData)),
      signer,
    );
    expect(result.ok).toBe(true);
    return result;
  };
  const details = async (base: string, streamId: string, token?: string) =>
    request(`${base}/v1/streams/${streamId}`, token ? { token } : {});
  const waitForStatus = (base: string, streamId: string, status: string) =>
    vi.waitFor(
      async () => {
        const { body } = await details(base, streamId);
        expect((body.stream as StreamDetails | undefined)?.status).toBe(status);
        return body.stream as StreamDetails;
      },
      { timeout: 15_000, interval: 100 },
    );
  const directory = async (base: string) => (await request(`${base}/v1/streams`)).body.streams as StreamSummary[];

  beforeAll(async () => {
    ({ alice, bob } = await devWallets());
    stack = await startSignalingStack({
      server: {
        modules: [
          authModule(loadAuthConfig({ SESSION_SECRET: secret })),
          streamsModule(loadStreamsConfig({}), { viewersConfig }),
        ],
      },
    });
    server = stack.server;
    aliceToken = await signIn(server.url, alice);
    bobToken = await signIn(server.url, bob);
    aliceSocket = await open(server.url, aliceToken);
    bobSocket = await open(server.url, bobToken);
  });

  afterAll(async () => {
    for (const s of sockets) s.close();
    await stack?.close();
  });

  it('refuses to create a stream without a session or with a bad body', async () => {
    const anonymous = await request(`${server.url}/v1/streams`, {
      body: { title: 'x', pricePerSecond: '1', asset: 'native' },
    });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toMatchObject({ ok: false, code: 'UNAUTHENTICATED' });
    const bad = [
      {},
      { title: 'x', pricePerSecond: '0', asset: 'native' },
      { title: 'x', pricePerSecond: '1.5', asset: 'native' },
      { title: 'x', pricePerSecond: 1000, asset: 'native' },
      { title: ' padded ', pricePerSecond: '1', asset: 'native' },
      { title: 'x', pricePerSecond: '1', asset: 'dot' },
      { title: 'x', pricePerSecond: '1', asset: 'native', thumbnailCid: 'not-a-cid' },
      { title: 'x', pricePerSecond: '1', asset: 'native', creator: bob.address },
      { title: 'x', pricePerSecond: '1', asset: 4242 },
    ];
    for (const body of bad) {
      const res = await request(`${server.url}/v1/streams`, { token: aliceToken, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    }
  });

  it('pins the metadata and returns the announcement call for the wallet to sign', async () => {
    const created = await create(server.url, aliceToken, { asset: stack.chain.asset.id });
    expect(created.streamId).toMatch(/^[A-Za-z0-9_-]{16}$/);
    const meta = await fetchStreamMetadata(stack.pinner, created.metadataCid);
    expect(meta).toMatchObject({
      version: 1,
      title: 'Morning jam',
      pricePerSecond: 1_000_000n,
      asset: stack.chain.asset.id,
    });
    expect(sameAccount(meta.creator, alice.address)).toBe(true);
    expect(await stack.pinner.isPinned(created.metadataCid)).toBe(true);

    const call = stack.client.api.createType('Call', created.announcement.callData);
    expect(`${call.section}.${call.method}`).toBe('utility.batchAll');
    const inner = (call.args[0] as unknown as { section: string; method: string; args: { toUtf8(): string }[] }[])[0];
    expect(`${inner?.section}.${inner?.method}`).toBe('system.remarkWithEvent');
    expect(inner?.args[0]?.toUtf8()).toBe(`ps1:stream:${created.streamId}:${created.metadataCid}`);
  });

  it('keeps a stream private until its creator’s announcement is seen on chain', async () => {
    const created = await create(server.url, aliceToken);
    expect((await directory(server.url)).map((s) => s.streamId)).not.toContain(created.streamId);
    expect((await details(server.url, created.streamId)).body).toMatchObject({ ok: false, code: 'STREAM_NOT_FOUND' });
    expect((await details(server.url, created.streamId, bobToken)).status).toBe(404);
    expect((await details(server.url, created.streamId, aliceToken)).body).toMatchObject({
      ok: true,
      stream: { status: 'pending' },
    });
    expect(await aliceSocket.emitWithAck('stream:goLive', { streamId: created.streamId })).toMatchObject({
      ok: false,
      code: 'STREAM_NOT_LIVE',
      details: { reason: 'not-announced' },
    });
    expect(await bobSocket.emitWithAck('stream:goLive', { streamId: created.streamId })).toMatchObject({
      ok: false,
      code: 'STREAM_NOT_FOUND',
    });

    // Bob signing Alice's announcement does not make it public; Alice's own does.
    await announce(created, bob);
    const byAlice = await announce(created, alice);
    const stream = await waitForStatus(server.url, created.streamId, 'announced');
    expect(stream.announcement?.extrinsicHash).toBe(byAlice.txHash);
    expect(stream.announcement?.blockHash).toBe(byAlice.ok ? byAlice.blockHash : undefined);
    const listed = (await directory(server.url)).find((s) => s.streamId === created.streamId);
    expect(listed).toMatchObject({
      title: 'Morning jam',
      pricePerSecond: '1000000',
      asset: 'native',
      metadataCid: created.metadataCid,
      live: false,
      viewers: 0,
      // No choice made: the node's defaults.
      terms: { settleEverySeconds: viewersConfig.SETTLE_EVERY_SECONDS, payAhead: false },
    });
    expect(sameAccount(listed?.creator ?? '', alice.address)).toBe(true);
  });

  it('keeps the creator’s payment terms in the metadata document, the directory and the module', async () => {
    const chosen = await create(server.url, aliceToken, { settleEverySeconds: 30, payAhead: true });
    expect(chosen.terms).toEqual({ settleEverySeconds: 30, payAhead: true });
    expect((await fetchStreamMetadata(stack.pinner, chosen.metadataCid)).terms).toEqual(chosen.terms);
    const streams = server.modules.get('streams') as StreamsModule;
    expect((await streams.get(chosen.streamId))?.terms).toEqual(chosen.terms);
    expect((await details(server.url, chosen.streamId, aliceToken)).body).toMatchObject({
      stream: { terms: chosen.terms },
    });

    // Half a choice is written whole, the rest from the node's defaults; no choice leaves the document without terms.
    const defaults = { settleEverySeconds: viewersConfig.SETTLE_EVERY_SECONDS, payAhead: false };
    const payAheadOnly = await create(server.url, aliceToken, { payAhead: true });
    expect((await fetchStreamMetadata(stack.pinner, payAheadOnly.metadataCid)).terms).toEqual({
      ...defaults,
      payAhead: true,
    });
    const none = await create(server.url, aliceToken);
    expect((await fetchStreamMetadata(stack.pinner, none.metadataCid)).terms).toBeUndefined();
    expect((await streams.get(none.streamId))?.terms).toEqual(defaults);
    expect(none.terms).toEqual(defaults);

    for (const [body, code] of [
      [{ settleEverySeconds: 4 }, 'AMOUNT_OUT_OF_RANGE'],
      [{ settleEverySeconds: 121 }, 'AMOUNT_OUT_OF_RANGE'],
      [{ pricePerSecond: (10n ** 24n + 1n).toString() }, 'AMOUNT_OUT_OF_RANGE'],
      [{ settleEverySeconds: '30' }, 'BAD_REQUEST'],
      [{ payAhead: 1 }, 'BAD_REQUEST'],
    ] as const) {
      const res = await request(`${server.url}/v1/streams`, {
        token: aliceToken,
        body: { title: 'x', pricePerSecond: '1', asset: 'native', ...body },
      });
      expect(res.body, JSON.stringify(body)).toMatchObject({ ok: false, code });
    }
  });

  it('shows the rules a stream’s viewers get on this node, each side’s worst case, and the node’s payment terms', async () => {
    const price = 1_000_000n;
    const windows = {
      voucherGraceSeconds: 2,
      minPrepaySeconds: 20,
      voucherVerifySeconds: 3,
      reconnectGraceSeconds: 9,
    };
    const nodeTerms = (await request(`${server.url}/v1/payment-terms`)).body as Json & NodePaymentTerms;
    expect(nodeTerms).toEqual({
      ok: true,
      settleEveryBounds: { min: 5, max: 120 },
      defaultTerms: { settleEverySeconds: 15, payAhead: false },
      paymentGraceSeconds: 7,
      ...windows,
    });

    // Bob's streams (Alice's creations are spent by the other tests), each with the rules and exposure expected.
    const cases = [
      // No choice: the node's default interval, in arrears with its grace; the creator may lose (15 + 7 + 1) s.
      [{}, { settleEverySeconds: 15, payAhead: false, paymentGraceSeconds: 7, minPrepaySeconds: 20 }, 23n, 0n],
      // In arrears, a long interval: the prepay covers one window.
      [
        { settleEverySeconds: 60 },
        { settleEverySeconds: 60, payAhead: false, paymentGraceSeconds: 7, minPrepaySeconds: 60 },
        68n,
        0n,
      ],
      // Pay-ahead: no grace, the creator is never owed, the viewer may lose one window.
      [
        { settleEverySeconds: 30, payAhead: true },
        { settleEverySeconds: 30, payAhead: true, paymentGraceSeconds: 0, minPrepaySeconds: 30 },
        0n,
        30n,
      ],
      [
        { payAhead: true },
        { settleEverySeconds: 15, payAhead: true, paymentGraceSeconds: 0, minPrepaySeconds: 20 },
        0n,
        15n,
      ],
    ] as const;
    for (const [choice, expected, creatorSeconds, viewerSeconds] of cases) {
      const created = await create(server.url, bobToken, choice);
      const stream = (await details(server.url, created.streamId, bobToken)).body.stream as StreamDetails;
      expect(stream.rules, JSON.stringify(choice)).toEqual({ ...windows, ...expected });
      expect(stream.exposure, JSON.stringify(choice)).toEqual({
        creatorMax: (creatorSeconds * price).toString(),
        viewerMax: (viewerSeconds * price).toString(),
      });
      // What the studio computes from the node's terms for the same choice is what the node states for the stream.
      const studio = { ...stream.terms, paymentGraceSeconds: nodeTerms.paymentGraceSeconds };
      expect(BigInt(creatorExposureSeconds(studio)), JSON.stringify(choice)).toBe(creatorSeconds);
      expect(BigInt(viewerExposureSeconds(studio)), JSON.stringify(choice)).toBe(viewerSeconds);
    }
  });

  it('goes live and ends: only the creator, the SFU room follows, viewers get stream:ended', async () => {
    const created = await create(server.url, aliceToken);
    await announce(created, alice);
    await waitForStatus(server.url, created.streamId, 'announced');
    const { streamId } = created;

    expect(await bobSocket.emitWithAck('stream:goLive', { streamId })).toMatchObject({
      ok: false,
      code: 'NOT_CREATOR',
    });
    expect(await aliceSocket.emitWithAck('stream:goLive', { streamId: 'unknown-stream-01' })).toMatchObject({
      ok: false,
      code: 'STREAM_NOT_FOUND',
    });
    expect(stack.sfu.getRoom(streamId)).toBeUndefined();
    expect(await aliceSocket.emitWithAck('stream:goLive', { streamId })).toEqual({ ok: true, streamId });
    expect(stack.sfu.getRoom(streamId)).toBeDefined();

    const streams = server.modules.get('streams') as StreamsModule;
    expect(await streams.adjustViewers(streamId, 2)).toBe(2);
    expect(await streams.adjustViewers(streamId, -1)).toBe(1);
    const first = (await directory(server.url))[0];
    expect(first).toMatchObject({ streamId, live: true, viewers: 1 });

    // A viewer in the stream's room (as the viewers module puts it there) hears the end.
    server.io.in(bobSocket.id as string).socketsJoin(streamRoom(streamId));
    const ended = new Promise((resolve) => bobSocket.once('stream:ended', resolve));
    expect(await bobSocket.emitWithAck('stream:end', { streamId })).toMatchObject({ ok: false, code: 'NOT_CREATOR' });
    expect(await aliceSocket.emitWithAck('stream:end', { streamId })).toEqual({ ok: true, streamId });
    await expect(ended).resolves.toEqual({ streamId });
    expect(stack.sfu.getRoom(streamId)).toBeUndefined();
    expect((await directory(server.url)).map((s) => s.streamId)).not.toContain(streamId);
    expect((await details(server.url, streamId)).body).toMatchObject({ ok: true, stream: { status: 'ended' } });
    expect(await aliceSocket.emitWithAck('stream:goLive', { streamId })).toMatchObject({
      ok: false,
      code: 'STREAM_NOT_LIVE',
      details: { reason: 'ended' },
    });
  });

  it.skipIf(!REDIS_URL)('shares the directory and viewer counts between two nodes through Redis', async () => {
    const prefix = `persecond:test:${randomUUID()}:`;
    const env = { REDIS_URL, REDIS_STREAM: `${prefix}socket.io` };
    const nodes: SignalingServer[] = [];
    const clients: Socket[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        nodes.push(
          await stack.startServer(
            {
              modules: [
                authModule(loadAuthConfig({ SESSION_SECRET: secret, AUTH_REDIS_PREFIX: prefix })),
                streamsModule(loadStreamsConfig({ STREAMS_REDIS_PREFIX: prefix })),
              ],
            },
            env,
          ),
        );
      }
      const [a, b] = nodes as [SignalingServer, SignalingServer];
      const created = await create(a.url, aliceToken, { settleEverySeconds: 20 });
      await announce(created, alice);
      await waitForStatus(b.url, created.streamId, 'announced');
      expect((await directory(b.url)).map((s) => s.streamId)).toEqual([created.streamId]);
      expect((await (b.modules.get('streams') as StreamsModule).get(created.streamId))?.terms).toEqual({
        settleEverySeconds: 20,
        payAhead: false,
      });

      const creatorOnA = await open(a.url, aliceToken);
      clients.push(creatorOnA);
      expect(await creatorOnA.emitWithAck('stream:goLive', { streamId: created.streamId })).toMatchObject({ ok: true });
      await (a.modules.get('streams') as StreamsModule).adjustViewers(created.streamId, 3);
      await (b.modules.get('streams') as StreamsModule).adjustViewers(created.streamId, 2);
      for (const node of nodes) {
        expect(await directory(node.url)).toEqual([
          expect.objectContaining({ streamId: created.streamId, live: true, viewers: 5 }),
        ]);
      }

      // The creator ends the stream through node B: a viewer on A hears it, and A closes the room it hosts.
      const viewerOnA = await open(a.url, bobToken);
      clients.push(viewerOnA);
      await a.io.in(viewerOnA.id as string).socketsJoin(streamRoom(created.streamId));
      const ended = new Promise((resolve) => viewerOnA.once('stream:ended', resolve));
      const creatorOnB = await open(b.url, aliceToken);
      clients.push(creatorOnB);
      expect(stack.sfu.getRoom(created.streamId)).toBeDefined();
      expect(await creatorOnB.emitWithAck('stream:end', { streamId: created.streamId })).toMatchObject({ ok: true });
      await expect(ended).resolves.toEqual({ streamId: created.streamId });
      await vi.waitFor(() => expect(stack.sfu.getRoom(created.streamId)).toBeUndefined(), {
        timeout: 5_000,
        interval: 20,
      });
      expect(await directory(a.url)).toEqual([]);
    } finally {
      // Clients first: with modules, the core's close() runs app.close() before io.close() and waits for open sockets.
      for (const c of clients) c.close();
      for (const node of nodes) await node.close();
      await deleteRedisKeys(REDIS_URL as string, prefix);
    }
  });
});
