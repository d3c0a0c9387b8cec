// Two signaling OS processes (the real bin, as `npm start` runs it) sharing one Redis: the live directory and the
// viewer counts are shared, and a node killed with SIGKILL does not leave its streams listed.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  buildFunding,
  type ChainClient,
  connect,
  createSessionKey,
  type DevChain,
  formatDelegation,
  sessionIdOf,
  signJoinProof,
  startDevChain,
  TxSubmitter,
} from '@persecond/contracts-client';
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import { stringToU8a, u8aToHex, u8aWrapBytes } from '@polkadot/util';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { createClient } from 'redis';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { StreamSummary } from '../src/index.ts';
import { type Json, openSocket, request, signIn } from './support/clients.ts';
import { callOk } from './viewers-support.ts';

const REDIS_URL = process.env.REDIS_URL;
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const NODE_TTL_SECONDS = 2;
const CREATOR_GRACE_SECONDS = 4;

/** A signaling process started from `signaling/src/bin/server.ts`. */
interface NodeProcess {
  child: ChildProcess;
  url: string;
  /** What it wrote on stderr (its log), for failure messages. */
  log: string[];
}

/** Starts the bin in its own process group (recorded in `started` at once) and waits for its `ready` line. */
async function startNode(env: NodeJS.ProcessEnv, started: ChildProcess[]): Promise<NodeProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'signaling/src/bin/server.ts')], {
    cwd: ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  const log: string[] = [];
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) => log.push(line));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line in 180 s:\n${log.join('\n')}`)), 180_000);
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      try {
        const msg = JSON.parse(line) as { event?: string; url?: string };
        if (msg.event === 'ready' && msg.url) {
          clearTimeout(timer);
          resolve(msg.url);
        }
      } catch {
        // Not the ready line.
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`signaling exited (${code ?? signal}) before ready:\n${log.join('\n')}`));
    });
  });
  return { child, url, log };
}

/** Kills a node's whole process group (the bin and its mediasoup workers) and waits for the bin to exit. */
async function killNode(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    process.kill(-(child.pid as number), signal);
  } catch {
    // Already gone.
  }
  await exited;
}

describe.skipIf(!REDIS_URL)('two signaling processes sharing Redis', () => {
  const prefix = `persecond:test:${randomUUID()}:`;
  const secret = randomUUID() + randomUUID();
  const dirs: string[] = [];
  const sockets: Socket[] = [];
  const children: ChildProcess[] = [];
  let chain: DevChain;
  let client: ChainClient;
  let submitter: TxSubmitter;
  let alice: KeyringPair;
  let bob: KeyringPair;
  let node1: NodeProcess;
  let node2: NodeProcess;
  let aliceToken: string;

  const tempDir = (name: string) => {
    const dir = mkdtempSync(join(tmpdir(), `persecond-${name}-`));
    dirs.push(dir);
    return dir;
  };
  const nodeEnv = (name: string): NodeJS.ProcessEnv => ({
    ...process.env,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'warn',
    CHAIN_WS_URL: chain.wsUrl,
    REDIS_URL,
    REDIS_STREAM: `${prefix}socket.io`,
    AUTH_REDIS_PREFIX: `${prefix}auth:`,
    STREAMS_REDIS_PREFIX: prefix,
    STREAMS_NODE_TTL_SECONDS: String(NODE_TTL_SECONDS),
    STREAM_CREATOR_GRACE_SECONDS: String(CREATOR_GRACE_SECONDS),
    SESSION_SECRET: secret,
    // Each node its own embedded ledger and IPFS repository; no PostgreSQL or Kubo even where CI sets them.
    DATABASE_URL: '',
    IPFS_RPC_URL: '',
    SIGNALING_DATA_DIR: tempDir(`${name}-ledger`),
    IPFS_DIR: tempDir(`${name}-ipfs`),
    HLS_DIR: tempDir(`${name}-hls`),
    SFU_NUM_WORKERS: '1',
  });
  const open = async (base: string, token: string) => {
    const socket = await openSocket(base, token);
    sockets.push(socket);
    return socket;
  };
  const directory = async (base: string) => (await request(`${base}/v1/streams`)).body.streams as StreamSummary[];
  const statusOn = async (base: string, streamId: string) =>
    ((await request(`${base}/v1/streams/${streamId}`)).body.stream as { status: string } | undefined)?.status;
  /** Creates a stream on node 1, announces it on chain and takes it live there. */
  const liveOnNode1 = async (creator: Socket): Promise<string> => {
    const created = (
      await request(`${node1.url}/v1/streams`, {
        token: aliceToken,
        body: { title: 'Two processes', pricePerSecond: '1000000', asset: 'native' },
      })
    ).body as Json & { streamId: string; announcement: { callData: string } };
    expect(created.ok).toBe(true);
    const tx = client.api.tx(client.api.createType('Call', created.announcement.callData));
    expect((await submitter.submit(tx, alice)).ok).toBe(true);
    await vi.waitFor(async () => expect(await statusOn(node2.url, created.streamId)).toBe('announced'), {
      timeout: 20_000,
      interval: 100,
    });
    await callOk(creator, 'stream:goLive', { streamId: created.streamId });
    return created.streamId;
  };

  beforeAll(async () => {
    await cryptoWaitReady();
    const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
    alice = keyring.addFromUri('//Alice');
    bob = keyring.addFromUri('//Bob');
    chain = await startDevChain();
    client = await connect(chain.wsUrl);
    submitter = new TxSubmitter(client.api);
    [node1, node2] = (await Promise.all(['node1', 'node2'].map((name) => startNode(nodeEnv(name), children)))) as [
      NodeProcess,
      NodeProcess,
    ];
    aliceToken = await signIn(node1.url, alice);
  }, 300_000);

  afterAll(async () => {
    for (const s of sockets) s.close();
    for (const child of children) await killNode(child, 'SIGTERM');
    await client?.close();
    await chain?.close();
    const redis = createClient({ url: REDIS_URL });
    await redis.connect();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(keys);
    await redis.quit();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  });

  let resumed: string;
  let abandoned: string;

  it('lists on node 2 the streams live on node 1, with the viewers node 1 admitted', async () => {
    const creator = await open(node1.url, aliceToken);
    resumed = await liveOnNode1(creator);
    abandoned = await liveOnNode1(creator);
    await vi.waitFor(
      async () =>
        expect(await directory(node2.url)).toEqual(
          expect.arrayContaining([
            expect.objectContaining({ streamId: resumed, live: true, viewers: 0 }),
            expect.objectContaining({ streamId: abandoned, live: true, viewers: 0 }),
          ]),
        ),
      { timeout: 10_000, interval: 100 },
    );

    // A paying viewer admitted on node 1 (a funded session, a signed delegation).
    const key = createSessionKey(42);
    const sessionId = sessionIdOf(key.address);
    const budget = 10n ** 12n;
    const funding = buildFunding(client, { sessionId, sessionAccount: key.address, asset: 'native', budget });
    const funded = await submitter.submit(funding, bob);
    if (!funded.ok) throw new Error(`funding failed: ${funded.status}`);
    const message = formatDelegation({
      genesisHash: client.facts.genesisHash,
      streamId: resumed,
      sessionId,
      sessionAccount: key.address,
      asset: 'native',
      budget,
    });
    const viewer = await open(node1.url, await signIn(node2.url, bob));
    expect(
      await callOk(viewer, 'viewer:join', {
        streamId: resumed,
        mode: 'webrtc',
        session: {
          sessionId,
          sessionKey: u8aToHex(key.publicKey),
          budget: budget.toString(),
          delegation: { message, signature: u8aToHex(bob.sign(u8aWrapBytes(stringToU8a(message)))) },
          proof: signJoinProof(key, {
            genesisHash: client.facts.genesisHash,
            streamId: resumed,
            sessionId,
            socketId: viewer.id ?? '',
          }),
          fundedIn: funded.blockHash,
        },
      }),
    ).toMatchObject({ mode: 'webrtc', viewerId: sessionId });
    await vi.waitFor(
      async () =>
        expect((await directory(node2.url)).find((s) => s.streamId === resumed)).toMatchObject({ viewers: 1 }),
      { timeout: 10_000, interval: 100 },
    );
  });

  it('stops listing a killed node’s streams, ends them after the grace unless the creator goes live elsewhere', async () => {
    await killNode(node1.child, 'SIGKILL');
    const killedAt = Date.now();
    // Hidden once the node's heartbeat expires; its viewer is not counted anywhere.
    await vi.waitFor(
      async () => {
        const ids = (await directory(node2.url)).map((s) => s.streamId);
        expect(ids).not.toContain(resumed);
        expect(ids).not.toContain(abandoned);
      },
      { timeout: NODE_TTL_SECONDS * 1000 + 5_000, interval: 100 },
    );
    expect(await statusOn(node2.url, abandoned)).toBe('live');

    // The creator goes live again on node 2 within the grace: listed again, hosted there, no ghost viewer.
    const creator = await open(node2.url, aliceToken);
    expect(await callOk(creator, 'stream:goLive', { streamId: resumed })).toMatchObject({ streamId: resumed });
    expect((await directory(node2.url)).find((s) => s.streamId === resumed)).toMatchObject({
      live: true,
      viewers: 0,
    });

    // The other stream ends once the grace has passed since node 2 noticed.
    await vi.waitFor(async () => expect(await statusOn(node2.url, abandoned)).toBe('ended'), {
      timeout: (NODE_TTL_SECONDS + CREATOR_GRACE_SECONDS) * 1000 + 10_000,
      interval: 200,
    });
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(CREATOR_GRACE_SECONDS * 1000);
    expect(await directory(node2.url)).toEqual([expect.objectContaining({ streamId: resumed, live: true })]);
    expect(await statusOn(node2.url, resumed)).toBe('live');
  });
});
