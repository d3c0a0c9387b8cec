import { randomUUID } from 'node:crypto';
import { buildSignInMessage } from '@persecond/contracts-client';
import type { KeyringPair } from '@polkadot/keyring/types';
import { io as connectSocket, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sameAccount } from '../src/accounts.ts';
import { authModule } from '../src/auth/AuthModule.ts';
import { loadAuthConfig } from '../src/auth/config.ts';
import type { SignalingServer } from '../src/index.ts';
import { devWallets, type Json, request, signMessage, verifySignIn } from './support/clients.ts';
import { deleteRedisKeys } from './support/redisKeys.ts';
import { type SignalingStack, startSignalingStack } from './support/signalingStack.ts';

const post = async (url: string, body: unknown, headers: Record<string, string> = {}) => {
  const res = await request(url, { body, headers });
  return { ...res, setCookie: res.headers.get('set-cookie') };
};

const REDIS_URL = process.env.REDIS_URL;

describe('auth module: sign-in with Substrate', () => {
  let stack: SignalingStack;
  let server: SignalingServer;
  let limited: SignalingServer;
  let alice: KeyringPair;
  let bob: KeyringPair;
  const sockets: Socket[] = [];

  const nonceFor = async (address: string, base = server.url) => {
    const res = await post(`${base}/v1/auth/nonce`, { address });
    expect(res.status).toBe(200);
    return res.body as Json & { message: string; nonce: string; expiresAt: string };
  };
  const signIn = async (pair: KeyringPair) => {
    const res = await verifySignIn(server.url, pair);
    expect(res.body).toMatchObject({ ok: true });
    return { ...res, setCookie: res.headers.get('set-cookie') };
  };
  const open = (opts: Parameters<typeof connectSocket>[1] = {}) => {
    const socket = connectSocket(server.url, { transports: ['websocket'], reconnection: false, ...opts });
    sockets.push(socket);
    return socket;
  };
  const connected = (socket: Socket) =>
    new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });

  beforeAll(async () => {
    ({ alice, bob } = await devWallets());
    stack = await startSignalingStack({
      server: {
        modules: [authModule(loadAuthConfig({ SIWS_NONCE_TTL_SECONDS: '60' }))],
        // Echoes the socket's signed-in address: proves the middleware opened the router's gate.
        handlers: { 'rtc:capabilities': async (socket) => ({ routerRtpCapabilities: socket.data.address }) },
      },
    });
    server = stack.server;
    limited = await stack.startServer({ modules: [authModule(loadAuthConfig({ AUTH_RATE_LIMIT_MAX: '3' }))] });
  });

  afterAll(async () => {
    for (const s of sockets) s.close();
    await stack?.close();
  });

  it('issues a SIWS message bound to the chain, the domain and a fresh nonce', async () => {
    const a = await nonceFor(alice.address);
    const b = await nonceFor(alice.address);
    expect(a.nonce).not.toBe(b.nonce);
    expect(a.message).toContain(`Chain ID: ${stack.client.facts.genesisHash}`);
    expect(a.message.startsWith('127.0.0.1:5173 wants you to sign in with your Substrate account:')).toBe(true);
    expect(a.message).toContain(`Nonce: ${a.nonce}`);
    expect(a.message).toContain(alice.address);
    expect(new Date(a.expiresAt).getTime() - Date.now()).toBeLessThanOrEqual(60_000);
  });

  it('uses an allowed Origin as the domain', async () => {
    const res = await post(
      `${server.url}/v1/auth/nonce`,
      { address: alice.address },
      { origin: 'http://localhost:5173' },
    );
    expect((res.body.message as string).startsWith('localhost:5173 wants you')).toBe(true);
    expect(res.body.message).toContain('URI: http://localhost:5173');
  });

  it('signs in with a <Bytes>-wrapped signature: token in body and httpOnly cookie', async () => {
    const res = await signIn(alice);
    expect(res.status).toBe(200);
    expect(sameAccount(res.body.address as string, alice.address)).toBe(true);
    expect(res.body.token).toEqual(expect.any(String));
    expect(res.setCookie).toMatch(/^ps_session=[^;]+; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Lax$/);
  });

  it('sets a cross-site cookie (SameSite=None, Partitioned) only with Secure', async () => {
    expect(() => loadAuthConfig({ SESSION_COOKIE_SAMESITE: 'none' })).toThrow(/SESSION_COOKIE_SECURE/);
    expect(() => loadAuthConfig({ SESSION_COOKIE_PARTITIONED: 'true' })).toThrow(/SESSION_COOKIE_SECURE/);
    const crossSite = await stack.startServer({
      modules: [
        authModule(
          loadAuthConfig({
            SESSION_COOKIE_SAMESITE: 'none',
            SESSION_COOKIE_SECURE: 'true',
            SESSION_COOKIE_PARTITIONED: 'true',
          }),
        ),
      ],
    });
    const res = await verifySignIn(crossSite.url, alice);
    expect(res.headers.get('set-cookie')).toMatch(/; HttpOnly; Secure; Partitioned; SameSite=None$/);
  });

  it('signs in with a signature over the raw message', async () => {
    const { message } = await nonceFor(bob.address);
    const res = await post(`${server.url}/v1/auth/verify`, { message, signature: signMessage(bob, message, false) });
    expect(res.status).toBe(200);
    expect(sameAccount(res.body.address as string, bob.address)).toBe(true);
  });

  it('answers GET /v1/auth/session from the cookie or a bearer token, and logs out', async () => {
    const { body, setCookie } = await signIn(alice);
    const cookie = (setCookie as string).split(';')[0] as string;
    const byCookie = await fetch(`${server.url}/v1/auth/session`, { headers: { cookie } });
    expect(byCookie.status).toBe(200);
    expect(await byCookie.json()).toMatchObject({ ok: true, address: body.address });
    const byBearer = await fetch(`${server.url}/v1/auth/session`, {
      headers: { authorization: `Bearer ${body.token}` },
    });
    expect(await byBearer.json()).toMatchObject({ ok: true, address: body.address });

    const anonymous = await fetch(`${server.url}/v1/auth/session`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ ok: false, code: 'UNAUTHENTICATED' });
    // Another address under Alice's MAC, and the MAC respelled in its last character's spare bits.
    const [claims, mac] = (body.token as string).split('.') as [string, string];
    const asBob = { ...JSON.parse(Buffer.from(claims, 'base64url').toString()), sub: bob.address };
    const forgeries = [
      `${Buffer.from(JSON.stringify(asBob)).toString('base64url')}.${mac}`,
      `${claims}.${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`,
    ];
    for (const forged of forgeries) {
      const res = await fetch(`${server.url}/v1/auth/session`, { headers: { authorization: `Bearer ${forged}` } });
      expect(res.status).toBe(401);
    }

    const out = await post(`${server.url}/v1/auth/logout`, {}, { cookie });
    expect(out.status).toBe(200);
    expect(out.setCookie).toMatch(/^ps_session=; Max-Age=0;/);
  });

  it('refuses a replayed nonce with NONCE_INVALID', async () => {
    const { message } = await nonceFor(alice.address);
    const signature = signMessage(alice, message);
    expect((await post(`${server.url}/v1/auth/verify`, { message, signature })).status).toBe(200);
    const replay = await post(`${server.url}/v1/auth/verify`, { message, signature });
    expect(replay.status).toBe(401);
    expect(replay.body).toMatchObject({ ok: false, code: 'NONCE_INVALID' });
  });

  it('refuses an expired message with NONCE_INVALID', async () => {
    const { nonce } = await nonceFor(alice.address);
    const now = Date.now();
    const message = buildSignInMessage({
      domain: '127.0.0.1:5173',
      address: alice.address,
      uri: 'http://127.0.0.1:5173',
      genesisHash: stack.client.facts.genesisHash,
      nonce,
      issuedAt: new Date(now - 10 * 60_000),
      expiresAt: new Date(now - 5 * 60_000),
    });
    const res = await post(`${server.url}/v1/auth/verify`, { message, signature: signMessage(alice, message) });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ ok: false, code: 'NONCE_INVALID', details: { reason: 'expired' } });
  });

  it('refuses a message for another domain or another chain', async () => {
    const fields = {
      address: alice.address,
      uri: 'https://evil.example',
      issuedAt: new Date(),
      expiresAt: new Date(Date.now() + 60_000),
    };
    const wrongDomain = buildSignInMessage({
      ...fields,
      domain: 'evil.example',
      genesisHash: stack.client.facts.genesisHash,
      nonce: (await nonceFor(alice.address)).nonce,
    });
    const a = await post(`${server.url}/v1/auth/verify`, {
      message: wrongDomain,
      signature: signMessage(alice, wrongDomain),
    });
    expect(a.body).toMatchObject({ ok: false, code: 'SIGNATURE_INVALID', details: { reason: 'wrong-domain' } });

    const wrongChain = buildSignInMessage({
      ...fields,
      domain: '127.0.0.1:5173',
      genesisHash: `0x${'ab'.repeat(32)}`,
      nonce: (await nonceFor(alice.address)).nonce,
    });
    const b = await post(`${server.url}/v1/auth/verify`, {
      message: wrongChain,
      signature: signMessage(alice, wrongChain),
    });
    expect(b.body).toMatchObject({ ok: false, code: 'SIGNATURE_INVALID', details: { reason: 'wrong-chain' } });
  });

  it('refuses a tampered signature or another signer, without burning the nonce', async () => {
    const { message } = await nonceFor(alice.address);
    const signature = signMessage(alice, message);
    const flipped = `${signature.slice(0, 10)}${signature[10] === '0' ? '1' : '0'}${signature.slice(11)}`;
    const tampered = await post(`${server.url}/v1/auth/verify`, { message, signature: flipped });
    expect(tampered.status).toBe(401);
    expect(tampered.body).toMatchObject({ ok: false, code: 'SIGNATURE_INVALID' });
    const byBob = await post(`${server.url}/v1/auth/verify`, { message, signature: signMessage(bob, message) });
    expect(byBob.body).toMatchObject({ ok: false, code: 'SIGNATURE_INVALID' });
    expect((await post(`${server.url}/v1/auth/verify`, { message, signature })).body).toMatchObject({ ok: true });
  });

  it('refuses malformed bodies with BAD_REQUEST', async () => {
    for (const body of [{}, { address: 'nope' }, { address: 42 }]) {
      const res = await post(`${server.url}/v1/auth/nonce`, body);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    }
    for (const body of [
      {},
      { message: 'hello', signature: '0x00' },
      { message: 'hello', signature: `0x${'1'.repeat(128)}` },
    ]) {
      const res = await post(`${server.url}/v1/auth/verify`, body);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    }
    const notJson = await fetch(`${server.url}/v1/auth/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{nope',
    });
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
  });

  it('signs in a socket from handshake.auth.token or the cookie; not without one', async () => {
    const { body, setCookie } = await signIn(alice);
    const byToken = open({ auth: { token: body.token } });
    await connected(byToken);
    const ack = await byToken.emitWithAck('rtc:capabilities', { streamId: 'stream-0001' });
    expect(ack).toEqual({ ok: true, routerRtpCapabilities: body.address });

    // The dapp's page names its origin; without an Origin the cookie does not count (adversarial/crossSite.test.ts).
    const byCookie = open({
      extraHeaders: { cookie: (setCookie as string).split(';')[0] as string, origin: 'http://127.0.0.1:5173' },
    });
    await connected(byCookie);
    expect(await byCookie.emitWithAck('rtc:capabilities', { streamId: 'stream-0001' })).toEqual({
      ok: true,
      routerRtpCapabilities: body.address,
    });
    const seen = await server.io.fetchSockets();
    expect(seen.find((s) => s.id === byToken.id)?.data.address).toBe(body.address);

    const anonymous = open();
    await connected(anonymous);
    expect(await anonymous.emitWithAck('rtc:capabilities', { streamId: 'stream-0001' })).toMatchObject({
      ok: false,
      code: 'UNAUTHENTICATED',
    });
  });

  it('refuses a socket handshake with a forged token', async () => {
    const forged = open({ auth: { token: 'eyJzdWIiOiJ4In0.AAAA' } });
    const err = await connected(forged).then(
      () => undefined,
      (e: Error & { data?: { code: string } }) => e,
    );
    expect(err?.data).toEqual({ code: 'UNAUTHENTICATED' });
    expect(forged.connected).toBe(false);
  });

  it('rate-limits sign-in per IP with RATE_LIMITED', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 5; i++)
      codes.push((await post(`${limited.url}/v1/auth/nonce`, { address: alice.address })).status);
    expect(codes).toEqual([200, 200, 200, 429, 429]);
    const refused = await post(`${limited.url}/v1/auth/nonce`, { address: alice.address });
    expect(refused.body).toMatchObject({ ok: false, code: 'RATE_LIMITED' });
  });

  it.skipIf(!REDIS_URL)('counts a client’s sign-in attempts across the nodes sharing Redis', async () => {
    const prefix = `persecond:test:${randomUUID()}:`;
    const env = { REDIS_URL, REDIS_STREAM: `${prefix}socket.io` };
    const auth = { AUTH_RATE_LIMIT_MAX: '3', AUTH_REDIS_PREFIX: prefix };
    const nodes: SignalingServer[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        nodes.push(await stack.startServer({ modules: [authModule(loadAuthConfig(auth))] }, env));
      }
      const codes: number[] = [];
      for (let i = 0; i < 4; i++) {
        const node = nodes[i % 2] as SignalingServer;
        codes.push((await post(`${node.url}/v1/auth/nonce`, { address: alice.address })).status);
      }
      expect(codes).toEqual([200, 200, 200, 429]);
      // Each route has its own count: verifying is not spent by asking for nonces.
      const verify = await post(`${(nodes[0] as SignalingServer).url}/v1/auth/verify`, {});
      expect(verify.status).toBe(400);
    } finally {
      for (const node of nodes) await node.close();
      await deleteRedisKeys(REDIS_URL as string, prefix);
    }
  });

  it.skipIf(!REDIS_URL)('shares single-use nonces between nodes through Redis', async () => {
    const prefix = `persecond:test:${randomUUID()}:`;
    const env = { REDIS_URL, REDIS_STREAM: `${prefix}socket.io` };
    const auth = { SESSION_SECRET: randomUUID() + randomUUID(), AUTH_REDIS_PREFIX: prefix };
    const nodes: SignalingServer[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        nodes.push(await stack.startServer({ modules: [authModule(loadAuthConfig(auth))] }, env));
      }
      const [a, b] = nodes as [SignalingServer, SignalingServer];
      const { message } = await nonceFor(alice.address, a.url);
      const signature = signMessage(alice, message);
      const onB = await post(`${b.url}/v1/auth/verify`, { message, signature });
      expect(onB.body).toMatchObject({ ok: true });
      const replayOnA = await post(`${a.url}/v1/auth/verify`, { message, signature });
      expect(replayOnA.body).toMatchObject({ ok: false, code: 'NONCE_INVALID' });
      // The same SESSION_SECRET on both nodes: a token from B is a session on A.
      const session = await fetch(`${a.url}/v1/auth/session`, {
        headers: { authorization: `Bearer ${onB.body.token}` },
      });
      expect(await session.json()).toMatchObject({ ok: true, address: onB.body.address });
    } finally {
      for (const node of nodes) await node.close();
      await deleteRedisKeys(REDIS_URL as string, prefix);
    }
  });
});
