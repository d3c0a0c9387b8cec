// A wallet flooding `POST /v1/streams` (each creation pins a document to IPFS) or asking amounts no total can hold:
// refused per wallet with RATE_LIMITED before anything is pinned, and with AMOUNT_OUT_OF_RANGE for a price above
// MAX_PRICE_PER_SECOND or a settle interval outside SETTLE_EVERY_BOUNDS. Real HTTP clients against the real stack.
import { randomUUID } from 'node:crypto';
import { MAX_PRICE_PER_SECOND, SETTLE_EVERY_BOUNDS } from '@persecond/contracts-client';
import type { KeyringPair } from '@polkadot/keyring/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authModule } from '../../src/auth/AuthModule.ts';
import { loadAuthConfig } from '../../src/auth/config.ts';
import type { SignalingServer } from '../../src/index.ts';
import { loadStreamsConfig } from '../../src/streams/config.ts';
import { streamsModule } from '../../src/streams/StreamsModule.ts';
import { devWallets, request, signIn } from '../support/clients.ts';
import { deleteRedisKeys } from '../support/redisKeys.ts';
import { type SignalingStack, startSignalingStack } from '../support/signalingStack.ts';

const REDIS_URL = process.env.REDIS_URL;
const LIMIT = 3;
const WINDOW_SECONDS = 600;

describe('stream creation: per-wallet rate limit and bounded amounts', () => {
  let stack: SignalingStack;
  let server: SignalingServer;
  let alice: KeyringPair;
  let bob: KeyringPair;
  let charlie: KeyringPair;
  const secret = randomUUID() + randomUUID();
  /** Documents the node pinned (the real pinner, its `add` observed). */
  let pinned = 0;

  const streamsEnv = {
    STREAM_CREATE_RATE_LIMIT_MAX: String(LIMIT),
    STREAM_CREATE_RATE_LIMIT_WINDOW_SECONDS: String(WINDOW_SECONDS),
  };
  const modules = (redisPrefix?: string) => [
    authModule(loadAuthConfig({ SESSION_SECRET: secret, ...(redisPrefix ? { AUTH_REDIS_PREFIX: redisPrefix } : {}) })),
    streamsModule(loadStreamsConfig({ ...streamsEnv, ...(redisPrefix ? { STREAMS_REDIS_PREFIX: redisPrefix } : {}) })),
  ];
  const create = (base: string, token: string, body: Record<string, unknown> = {}) =>
    request(`${base}/v1/streams`, {
      token,
      body: { title: 'Flood', pricePerSecond: '1000', asset: 'native', ...body },
    });

  beforeAll(async () => {
    ({ alice, bob, charlie } = await devWallets());
    stack = await startSignalingStack({ server: { modules: modules() } });
    server = stack.server;
    const add = stack.pinner.add.bind(stack.pinner);
    stack.pinner.add = (bytes, options) => {
      pinned++;
      return add(bytes, options);
    };
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('refuses a wallet’s creations beyond the limit with RATE_LIMITED and retryAfterMs, pinning nothing', async () => {
    const token = await signIn(server.url, alice);
    const before = pinned;
    for (let i = 0; i < LIMIT; i++) expect((await create(server.url, token)).body).toMatchObject({ ok: true });
    expect(pinned - before).toBe(LIMIT);

    const refused = await create(server.url, token);
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ ok: false, code: 'RATE_LIMITED' });
    const retryAfterMs = Number(refused.body.details?.retryAfterMs);
    expect(retryAfterMs).toBeGreaterThan(0);
    expect(retryAfterMs).toBeLessThanOrEqual(WINDOW_SECONDS * 1000);
    expect(Number(refused.headers.get('retry-after'))).toBe(Math.ceil(retryAfterMs / 1000));
    expect(pinned - before).toBe(LIMIT);

    // A fresh sign-in is the same wallet: same bucket.
    const again = await create(server.url, await signIn(server.url, alice));
    expect(again.body).toMatchObject({ ok: false, code: 'RATE_LIMITED' });
    // Another wallet has its own.
    expect((await create(server.url, await signIn(server.url, bob))).body).toMatchObject({ ok: true });
    expect(pinned - before).toBe(LIMIT + 1);
  });

  it('refuses amounts out of bounds with AMOUNT_OUT_OF_RANGE, without spending the wallet’s creations', async () => {
    const token = await signIn(server.url, charlie);
    const before = pinned;
    const outOfRange: [Record<string, unknown>, Record<string, string>][] = [
      [{ pricePerSecond: (MAX_PRICE_PER_SECOND + 1n).toString() }, { field: 'pricePerSecond' }],
      [{ pricePerSecond: `1${'0'.repeat(45)}` }, { field: 'pricePerSecond' }],
      [{ settleEverySeconds: SETTLE_EVERY_BOUNDS.min - 1 }, { field: 'settleEverySeconds' }],
      [{ settleEverySeconds: SETTLE_EVERY_BOUNDS.max + 1 }, { field: 'settleEverySeconds' }],
      [{ settleEverySeconds: -30, payAhead: true }, { field: 'settleEverySeconds' }],
    ];
    // More refusals than the limit: none of them counts.
    for (let round = 0; round < 2; round++) {
      for (const [body, details] of outOfRange) {
        const res = await create(server.url, token, body);
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(res.body).toMatchObject({ ok: false, code: 'AMOUNT_OUT_OF_RANGE', details });
      }
    }
    for (const body of [{ settleEverySeconds: 10.5 }, { payAhead: 'yes' }, { pricePerSecond: '1e30' }]) {
      expect((await create(server.url, token, body)).body, JSON.stringify(body)).toMatchObject({
        code: 'BAD_REQUEST',
      });
    }
    expect(pinned).toBe(before);
    // The bounds themselves are fine, and the wallet still has its whole allowance.
    const edge = await create(server.url, token, {
      pricePerSecond: MAX_PRICE_PER_SECOND.toString(),
      settleEverySeconds: SETTLE_EVERY_BOUNDS.max,
    });
    expect(edge.body).toMatchObject({ ok: true, terms: { settleEverySeconds: SETTLE_EVERY_BOUNDS.max } });
    for (let i = 1; i < LIMIT; i++) expect((await create(server.url, token)).body).toMatchObject({ ok: true });
    expect((await create(server.url, token)).body).toMatchObject({ code: 'RATE_LIMITED' });
  });

  it.skipIf(!REDIS_URL)('counts a wallet’s creations across the nodes sharing Redis', async () => {
    const prefix = `persecond:test:${randomUUID()}:`;
    const nodes: SignalingServer[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        nodes.push(
          await stack.startServer({ modules: modules(prefix) }, { REDIS_URL, REDIS_STREAM: `${prefix}socket.io` }),
        );
      }
      const [a, b] = nodes as [SignalingServer, SignalingServer];
      const token = await signIn(a.url, bob);
      const codes: unknown[] = [];
      for (let i = 0; i < LIMIT + 1; i++) codes.push((await create(i % 2 ? b.url : a.url, token)).body.code);
      expect(codes).toEqual([...Array(LIMIT).fill(undefined), 'RATE_LIMITED']);
      expect((await create(b.url, token)).body).toMatchObject({ code: 'RATE_LIMITED' });
    } finally {
      for (const node of nodes) await node.close();
      await deleteRedisKeys(REDIS_URL as string, prefix);
    }
  });
});
