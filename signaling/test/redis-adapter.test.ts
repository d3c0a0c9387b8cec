import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSfuConfig, Sfu } from '@persecond/sfu';
import { createClient } from 'redis';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPinner,
  createSignalingServer,
  loadSignalingConfig,
  type Pinner,
  type SignalingServer,
} from '../src/index.ts';

const REDIS_URL = process.env.REDIS_URL;

describe.skipIf(!REDIS_URL)('two signaling nodes over the Redis streams adapter', () => {
  const stream = `persecond:test:${randomUUID()}`;
  let sfu: Sfu;
  let a: SignalingServer;
  let b: SignalingServer;
  let client: Socket;
  let pinner: Pinner;
  const ipfsDir = mkdtempSync(join(tmpdir(), 'persecond-ipfs-'));

  beforeAll(async () => {
    pinner = await createPinner({ backend: 'helia', dir: ipfsDir });
    const env = { PORT: '0', LOG_LEVEL: 'silent', REDIS_URL, REDIS_STREAM: stream } as NodeJS.ProcessEnv;
    sfu = await Sfu.create(loadSfuConfig({ SFU_NUM_WORKERS: '1', LOG_LEVEL: 'silent' }));
    a = await createSignalingServer(loadSignalingConfig(env), { sfu, pinner });
    b = await createSignalingServer(loadSignalingConfig(env), { sfu, pinner });
    client = connect(a.url, { transports: ['websocket'] });
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
  });

  afterAll(async () => {
    client?.close();
    await a?.close();
    await b?.close();
    await sfu?.close();
    await pinner?.close();
    rmSync(ipfsDir, { recursive: true, force: true });
    const redis = createClient({ url: REDIS_URL });
    await redis.connect();
    await redis.del(stream);
    await redis.quit();
  });

  it('reports the redis adapter on /healthz', async () => {
    const body = (await (await fetch(`${b.url}/healthz`)).json()) as { adapter: string };
    expect(body.adapter).toBe('redis');
  });

  it('lets one node see the sockets of the other', async () => {
    const seen = await b.io.fetchSockets();
    expect(seen.map((s) => s.id)).toContain(client.id);
  });

  it('delivers an emit from one node to a client of the other', async () => {
    const got = new Promise<{ streamId: string }>((resolve) => client.once('stream:ended', resolve));
    b.io.emit('stream:ended', { streamId: 'stream-0001' });
    await expect(got).resolves.toEqual({ streamId: 'stream-0001' });
  });
});
