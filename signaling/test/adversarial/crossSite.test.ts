// A foreign page using a creator's session cookie: it cannot open a socket (to end the stream or publish into it) nor
// send a cookie-carrying write; the dapp's own origin can. Real socket.io clients sending the headers a browser sends.
import { randomUUID } from 'node:crypto';
import type { KeyringPair } from '@polkadot/keyring/types';
import { io as connectSocket, type Socket, type SocketOptions } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authModule } from '../../src/auth/AuthModule.ts';
import { loadAuthConfig } from '../../src/auth/config.ts';
import type { SignalingServer } from '../../src/index.ts';
import { loadStreamsConfig } from '../../src/streams/config.ts';
import { streamsModule } from '../../src/streams/StreamsModule.ts';
import { devWallets, request, verifySignIn } from '../support/clients.ts';
import { type SignalingStack, startSignalingStack } from '../support/signalingStack.ts';

const DAPP = 'http://127.0.0.1:5173';
const EVIL = 'https://evil.example';

type Opened = { socket: Socket; error?: Error & { data?: { code?: string; reason?: string }; description?: unknown } };

describe('cross-site use of the session cookie', () => {
  let stack: SignalingStack;
  let server: SignalingServer;
  let alice: KeyringPair;
  let cookie: string;
  let token: string;
  const sockets: Socket[] = [];

  /** Opens a socket and waits until it connects or is refused. */
  const open = (opts: Partial<SocketOptions> & Record<string, unknown>): Promise<Opened> => {
    const socket = connectSocket(server.url, { transports: ['websocket'], reconnection: false, ...opts });
    sockets.push(socket);
    return new Promise((resolve) => {
      socket.once('connect', () => resolve({ socket }));
      socket.once('connect_error', (error) => resolve({ socket, error }));
    });
  };
  const createStream = (headers: Record<string, string>) =>
    request(`${server.url}/v1/streams`, {
      headers,
      body: { title: 'Cross-site', pricePerSecond: '1000', asset: 'native' },
    });

  beforeAll(async () => {
    ({ alice } = await devWallets());
    stack = await startSignalingStack({
      server: {
        modules: [
          authModule(loadAuthConfig({ SESSION_SECRET: randomUUID() + randomUUID() })),
          streamsModule(loadStreamsConfig({})),
        ],
      },
    });
    server = stack.server;
    const signedIn = await verifySignIn(server.url, alice);
    token = signedIn.body.token as string;
    cookie = (signedIn.headers.get('set-cookie') as string).split(';')[0] as string;
  });

  afterAll(async () => {
    for (const s of sockets) s.close();
    await stack?.close();
  });

  it('refuses the handshake of a foreign page carrying the session cookie, on either transport', async () => {
    const before = (await server.io.fetchSockets()).length;
    for (const transports of [['websocket'], ['polling']]) {
      const { socket, error } = await open({ transports, extraHeaders: { Origin: EVIL, Cookie: cookie } });
      expect(error, `${transports}`).toBeDefined();
      expect(socket.connected).toBe(false);
    }
    // The engine.io handshake itself answers 403, its message starting with the stable code.
    const raw = await fetch(`${server.url}/socket.io/?EIO=4&transport=polling`, {
      headers: { origin: EVIL, cookie },
    });
    expect(raw.status).toBe(403);
    expect(((await raw.json()) as { message: string }).message).toMatch(/^ORIGIN_NOT_ALLOWED: /);
    // Also with the token in the handshake, and from an opaque origin (sandboxed frame, file:).
    for (const origin of [EVIL, 'null', 'http://127.0.0.1:5174']) {
      const refused = await open({ extraHeaders: { Origin: origin }, auth: { token } });
      expect(refused.error, origin).toBeDefined();
    }
    expect((await server.io.fetchSockets()).length).toBe(before);
  });

  it('signs in the dapp’s own page from the cookie: it may end the creator’s stream', async () => {
    const created = await createStream({ cookie, origin: DAPP });
    expect(created.body).toMatchObject({ ok: true });
    const { socket, error } = await open({ extraHeaders: { Origin: DAPP, Cookie: cookie } });
    expect(error).toBeUndefined();
    const ended = await socket.emitWithAck('stream:end', { streamId: created.body.streamId });
    expect(ended).toEqual({ ok: true, streamId: created.body.streamId });
  });

  it('takes the cookie only with an Origin: a client without one signs in with the handshake token', async () => {
    const { socket, error } = await open({ extraHeaders: { Cookie: cookie } });
    expect(socket.connected).toBe(false);
    expect(error?.data).toEqual({ code: 'UNAUTHENTICATED', reason: 'cookie-without-origin' });

    const byToken = await open({ auth: { token } });
    expect(byToken.error).toBeUndefined();
    const created = await createStream({ authorization: `Bearer ${token}` });
    const ack = await byToken.socket.emitWithAck('stream:end', { streamId: created.body.streamId });
    expect(ack).toMatchObject({ ok: true });
  });

  it('refuses cookie-carrying writes from a foreign origin with 403 ORIGIN_NOT_ALLOWED, before reading them', async () => {
    const refused = await createStream({ cookie, origin: EVIL });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ ok: false, code: 'ORIGIN_NOT_ALLOWED' });
    // A foreign page cannot sign a wallet in either (login CSRF), nor log it out.
    for (const path of ['/v1/auth/nonce', '/v1/auth/verify', '/v1/auth/logout']) {
      const res = await request(`${server.url}${path}`, { headers: { cookie, origin: EVIL }, body: {} });
      expect(res.status, path).toBe(403);
      expect(res.body, path).toMatchObject({ ok: false, code: 'ORIGIN_NOT_ALLOWED' });
    }
    // Not even a body fastify cannot parse gets that far.
    const raw = await fetch(`${server.url}/v1/streams`, {
      method: 'POST',
      headers: { origin: EVIL, cookie, 'content-type': 'text/plain' },
      body: 'title=x',
    });
    expect(raw.status).toBe(403);
    // Reads stay public: the directory answers any origin (CORS decides what a foreign page may read of it).
    expect((await request(`${server.url}/v1/streams`, { headers: { origin: EVIL } })).status).toBe(200);
  });
});
