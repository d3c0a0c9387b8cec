import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEV_ACCOUNTS } from '@persecond/contracts-client';
import { loadSfuConfig, Sfu } from '@persecond/sfu';
import fc from 'fast-check';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionTokens } from '../src/auth/SessionTokens.ts';
import {
  authModule,
  chatModule,
  createPinner,
  createSignalingServer,
  ERROR_CODES,
  ledgerModule,
  loadAuthConfig,
  loadChatConfig,
  loadSignalingConfig,
  type Pinner,
  PUBLIC_EVENTS,
  type SignalingServer,
  schemas,
  stageModule,
  streamsModule,
  viewersModule,
} from '../src/index.ts';
import { rtcModule } from '../src/rtc/RtcModule.ts';

const SECRET = 'fuzz-secret-fuzz-secret-fuzz-secret-42';
const EVENTS = Object.keys(schemas);

/** What a client may put on the wire: JSON values, binary, and near-valid objects for every event's fields. */
const payload = fc.oneof(
  fc.jsonValue(),
  fc.uint8Array({ maxLength: 64 }),
  fc.dictionary(
    fc.constantFrom(
      ...['streamId', 'sessionId', 'mode', 'session', 'seq', 'owed', 'signature', 'transportId', 'kind'],
      ...['text', 'before', 'limit', 'reaction', 'clientId', 'mediaTime', 'slowModeSeconds', 'payingOnly'],
      ...['messageId', 'wallet', 'minutes', 'add', 'remove', 'removeFromStream', 'asset', 'amount'],
      ...['approve', 'role', 'source', 'muted', 'rtpParameters', 'producerId', 'paused', 'direction'],
    ),
    fc.oneof(
      fc.jsonValue(),
      fc.string(),
      fc.integer(),
      fc.constantFrom('webrtc', 'hls', 'auto', 'stream-0001', 'heart', '1', '<b>x</b>', true, 5),
      fc.constantFrom('send', 'recv', 'camera', 'microphone', 'screen', 'co-host', 'guest', 'host', 'video'),
      fc.constantFrom(DEV_ACCOUNTS.Bob, [DEV_ACCOUNTS.Bob], [DEV_ACCOUNTS.Alice, 'x']),
    ),
  ),
);

function ack(socket: Socket, event: string, args: unknown[]): Promise<{ ok: boolean; code?: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ack for ${event}`)), 5_000);
    socket.emit(event, ...args, (res: { ok: boolean; code?: string }) => {
      clearTimeout(timer);
      resolve(res);
    });
  });
}

describe('signaling under random and malformed requests', () => {
  let sfu: Sfu;
  let pinner: Pinner;
  let server: SignalingServer;
  let anonymous: Socket;
  let signedIn: Socket;
  const ipfsDir = mkdtempSync(join(tmpdir(), 'persecond-ipfs-'));
  const unhandled: unknown[] = [];
  const onUnhandled = (err: unknown) => unhandled.push(err);

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    process.on('uncaughtException', onUnhandled);
    sfu = await Sfu.create(loadSfuConfig({ SFU_NUM_WORKERS: '1', LOG_LEVEL: 'silent' }));
    pinner = await createPinner({ backend: 'helia', dir: ipfsDir });
    server = await createSignalingServer(loadSignalingConfig({ PORT: '0', LOG_LEVEL: 'silent' }), {
      sfu,
      pinner,
      modules: [
        authModule(loadAuthConfig({ SESSION_SECRET: SECRET })),
        streamsModule(),
        ledgerModule,
        viewersModule(),
        rtcModule(),
        stageModule(),
        // A socket limit out of the way: the requests reach the chat's handlers.
        chatModule(loadChatConfig({ CHAT_SOCKET_RATE_LIMIT_MAX: '1000000' })),
      ],
    });
    const { token } = new SessionTokens(SECRET, 3_600_000).issue(DEV_ACCOUNTS.Alice);
    anonymous = connect(server.url, { transports: ['websocket'] });
    signedIn = connect(server.url, { transports: ['websocket'], auth: { token } });
    await Promise.all(
      [anonymous, signedIn].map((s) => new Promise<void>((resolve) => s.once('connect', () => resolve()))),
    );
  });

  afterAll(async () => {
    anonymous?.close();
    signedIn?.close();
    await server?.close();
    await sfu?.close();
    await pinner?.close();
    rmSync(ipfsDir, { recursive: true, force: true });
    process.off('unhandledRejection', onUnhandled);
    process.off('uncaughtException', onUnhandled);
  });

  it('answers 10,000 random requests of a signed-out client with BAD_REQUEST or UNAUTHENTICATED, chat reads aside', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...EVENTS, 'no:such:event', 'tick', ''), payload, async (event, body) => {
        const res = await ack(anonymous, event, [body]);
        // Reading a chat needs no sign-in: a valid read is answered (an unknown stream's chat is empty or not found).
        if ((PUBLIC_EVENTS as string[]).includes(event) && (res.ok || res.code === 'STREAM_NOT_FOUND')) return;
        expect(res.ok).toBe(false);
        expect(['BAD_REQUEST', 'UNAUTHENTICATED']).toContain(res.code);
      }),
      { numRuns: 10_000 },
    );
    expect(unhandled).toEqual([]);
  });

  it('answers random requests of a signed-in client with a stable code, never INTERNAL', async () => {
    // The signed-in socket really gets past the sign-in gate.
    expect(await ack(signedIn, 'stream:goLive', [{ streamId: 'stream-0001' }])).toMatchObject({
      ok: false,
      code: 'STREAM_NOT_FOUND',
    });
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...EVENTS),
        fc.array(payload, { minLength: 0, maxLength: 3 }),
        async (event, args) => {
          const res = await ack(signedIn, event, args);
          if (!res.ok) {
            expect(ERROR_CODES).toContain(res.code);
            expect(res.code).not.toBe('INTERNAL');
          }
        },
      ),
      { numRuns: 2_000 },
    );
    expect(unhandled).toEqual([]);
  });

  it('refuses 4,000 random vouchers sent as notifications with one `tick:refused` each, never INTERNAL', async () => {
    const refusalOf = (socket: Socket, body: unknown) =>
      new Promise<{ code: string; seq?: unknown }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no tick:refused')), 5_000);
        socket.once('tick:refused', (r: { code: string; seq?: unknown }) => {
          clearTimeout(timer);
          resolve(r);
        });
        socket.emit('tick:ack', body);
      });
    await fc.assert(
      fc.asyncProperty(fc.boolean(), payload, async (signed, body) => {
        const r = await refusalOf(signed ? signedIn : anonymous, body);
        expect(ERROR_CODES).toContain(r.code);
        expect(r.code).not.toBe('INTERNAL');
        if (!signed) expect(['BAD_REQUEST', 'UNAUTHENTICATED']).toContain(r.code);
        if (r.seq !== undefined) expect(r.seq).toBe((body as { seq?: unknown }).seq);
      }),
      { numRuns: 4_000 },
    );
    expect(unhandled).toEqual([]);
  });

  it('survives requests without an ack and stays healthy', async () => {
    for (const event of EVENTS) {
      anonymous.emit(event, { junk: true });
      signedIn.emit(event);
    }
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await ack(anonymous, 'viewer:leave', [{}])).toMatchObject({ ok: false, code: 'UNAUTHENTICATED' });
    expect(await ack(anonymous, 'chat:history', [{ streamId: 'stream-0001' }])).toEqual({
      ok: true,
      messages: [],
      more: false,
    });
    expect(unhandled).toEqual([]);
  });
});
