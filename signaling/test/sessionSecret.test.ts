// Restarts keep people signed in: a signaling process started again with the same SESSION_SECRET accepts the session
// (bearer token and cookie) the old process issued; during a rotation (the new SESSION_SECRET, the old one as
// SESSION_SECRET_PREVIOUS) the old sessions still count and new ones are signed with the new secret; a process with
// another secret refuses an old session with UNAUTHENTICATED, over HTTP and on the socket handshake.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DevChain, startDevChain } from '@persecond/contracts-client';
import type { KeyringPair } from '@polkadot/keyring/types';
import { io as connectSocket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAuthConfig } from '../src/auth/config.ts';
import { SessionTokens } from '../src/auth/SessionTokens.ts';
import { NodeProcess } from './replays/nodeProcess.ts';
import { devWallets, request, verifySignIn } from './support/clients.ts';

const OLD_SECRET = 'old-secret-0123456789abcdefghijklmnopqrstuvwxyz';
const NEW_SECRET = 'new-secret-0123456789abcdefghijklmnopqrstuvwxyz';
const HOUR_MS = 3_600_000;

describe('session secret rotation: SessionTokens and the auth config', () => {
  const address = '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY';

  it('issues with the current secret and, during a rotation, also accepts what the previous one signed', () => {
    const before = new SessionTokens(OLD_SECRET, HOUR_MS);
    const rotating = new SessionTokens(NEW_SECRET, HOUR_MS, [OLD_SECRET]);
    const after = new SessionTokens(NEW_SECRET, HOUR_MS);
    const old = before.issue(address).token;
    expect(rotating.verify(old)?.address).toBe(address);
    expect(after.verify(old)).toBeUndefined();
    // What the rotating node issues is signed with the new secret only.
    const fresh = rotating.issue(address).token;
    expect(after.verify(fresh)?.address).toBe(address);
    expect(before.verify(fresh)).toBeUndefined();
    // The previous secret does not stretch a token's life.
    const expired = before.issue(address, Date.now() - 2 * HOUR_MS).token;
    expect(rotating.verify(expired)).toBeUndefined();
  });

  it('refuses SESSION_SECRET_PREVIOUS without SESSION_SECRET, and a short previous secret', () => {
    expect(() => loadAuthConfig({ SESSION_SECRET_PREVIOUS: OLD_SECRET })).toThrow(
      /SESSION_SECRET_PREVIOUS needs SESSION_SECRET/,
    );
    expect(() => loadAuthConfig({ SESSION_SECRET: NEW_SECRET, SESSION_SECRET_PREVIOUS: 'short' })).toThrow(
      /SESSION_SECRET_PREVIOUS must be at least 32 characters/,
    );
    const config = loadAuthConfig({ SESSION_SECRET: NEW_SECRET, SESSION_SECRET_PREVIOUS: OLD_SECRET });
    expect(config.SESSION_SECRET_PREVIOUS).toBe(OLD_SECRET);
    // Empty, as compose passes an unset `${SESSION_SECRET_PREVIOUS:-}`: no rotation.
    expect(loadAuthConfig({ SESSION_SECRET: NEW_SECRET, SESSION_SECRET_PREVIOUS: '' }).SESSION_SECRET_PREVIOUS).toBe(
      undefined,
    );
  });
});

describe('a restarted signaling process (the real bin)', () => {
  const dirs: string[] = [];
  const nodes: NodeProcess[] = [];
  let chain: DevChain;
  let alice: KeyringPair;
  let dataDir: string;
  let ipfsDir: string;
  let hlsDir: string;
  /** Alice's session from the first process: its bearer token and its cookie (`name=value`). */
  let token = '';
  let cookie = '';

  const tempDir = (name: string) => {
    const dir = mkdtempSync(join(tmpdir(), `persecond-session-${name}-`));
    dirs.push(dir);
    return dir;
  };
  /** The same node each time (its data directories), with these secrets. */
  const startNode = async (secrets: Record<string, string>): Promise<NodeProcess> => {
    const node = await NodeProcess.start({
      ...process.env,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'warn',
      CHAIN_WS_URL: chain.wsUrl,
      // The embedded ledger and IPFS, kept across its restarts; no PostgreSQL, Redis or Kubo even where CI sets them.
      DATABASE_URL: '',
      REDIS_URL: '',
      IPFS_RPC_URL: '',
      SIGNALING_DATA_DIR: dataDir,
      IPFS_DIR: ipfsDir,
      HLS_DIR: hlsDir,
      SFU_NUM_WORKERS: '1',
      SESSION_SECRET: '',
      SESSION_SECRET_PREVIOUS: '',
      ...secrets,
    });
    nodes.push(node);
    return node;
  };
  const session = (base: string, headers: Record<string, string>) =>
    request(`${base}/v1/auth/session`, { headers }).then(({ status, body }) => ({ status, body }));
  /** The socket handshake's verdict on a token: 'connected', or the code the node refused it with. */
  const handshake = (base: string, auth: string) =>
    new Promise<string>((resolve) => {
      const socket = connectSocket(base, { transports: ['websocket'], reconnection: false, auth: { token: auth } });
      socket.once('connect', () => {
        socket.close();
        resolve('connected');
      });
      socket.once('connect_error', (err: Error & { data?: { code?: string } }) => {
        socket.close();
        resolve(err.data?.code ?? `connect_error: ${err.message}`);
      });
    });

  beforeAll(async () => {
    alice = (await devWallets()).alice;
    dataDir = tempDir('ledger');
    ipfsDir = tempDir('ipfs');
    hlsDir = tempDir('hls');
    chain = await startDevChain();
  }, 300_000);

  afterAll(async () => {
    for (const node of nodes) await node.kill();
    await chain?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  });

  it('started again with the same SESSION_SECRET, accepts the token and the cookie the old process issued', {
    timeout: 240_000,
  }, async () => {
    const first = await startNode({ SESSION_SECRET: OLD_SECRET });
    const verified = await verifySignIn(first.url, alice);
    expect(verified.body).toMatchObject({ ok: true, address: alice.address });
    token = verified.body.token as string;
    cookie = (verified.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    expect(cookie).toBe(`ps_session=${token}`);
    await first.stop();

    const restarted = await startNode({ SESSION_SECRET: OLD_SECRET });
    expect(await session(restarted.url, { authorization: `Bearer ${token}` })).toEqual({
      status: 200,
      body: expect.objectContaining({ ok: true, address: alice.address }),
    });
    expect(await session(restarted.url, { cookie })).toEqual({
      status: 200,
      body: expect.objectContaining({ ok: true, address: alice.address }),
    });
    expect(await handshake(restarted.url, token)).toBe('connected');
    await restarted.stop();
  });

  it('during a rotation accepts the old session and signs new ones with the new secret; with only a new secret, refuses the old one (UNAUTHENTICATED)', {
    timeout: 240_000,
  }, async () => {
    expect(token).not.toBe('');
    const rotating = await startNode({ SESSION_SECRET: NEW_SECRET, SESSION_SECRET_PREVIOUS: OLD_SECRET });
    expect((await session(rotating.url, { authorization: `Bearer ${token}` })).body).toMatchObject({
      ok: true,
      address: alice.address,
    });
    expect(await handshake(rotating.url, token)).toBe('connected');
    const renewed = await verifySignIn(rotating.url, alice);
    expect(renewed.body).toMatchObject({ ok: true });
    const newToken = renewed.body.token as string;
    await rotating.stop();

    // The rotation is over (SESSION_SECRET_PREVIOUS removed): the new session counts, the old one no longer does.
    const rotated = await startNode({ SESSION_SECRET: NEW_SECRET });
    expect((await session(rotated.url, { authorization: `Bearer ${newToken}` })).body).toMatchObject({
      ok: true,
      address: alice.address,
    });
    expect(await session(rotated.url, { authorization: `Bearer ${token}` })).toEqual({
      status: 401,
      body: expect.objectContaining({ ok: false, code: 'UNAUTHENTICATED' }),
    });
    expect(await session(rotated.url, { cookie })).toEqual({
      status: 401,
      body: expect.objectContaining({ ok: false, code: 'UNAUTHENTICATED' }),
    });
    expect(await handshake(rotated.url, token)).toBe('UNAUTHENTICATED');
    expect(await handshake(rotated.url, newToken)).toBe('connected');
  });
});
