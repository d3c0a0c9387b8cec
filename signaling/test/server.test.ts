import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSfuConfig, Sfu } from '@persecond/sfu';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPinner,
  createSignalingServer,
  loadSignalingConfig,
  type Pinner,
  type SignalingServer,
} from '../src/index.ts';
import { isAlive } from './support/processes.ts';

const emit = (socket: Socket, event: string, ...args: unknown[]) =>
  new Promise<{ ok: boolean; code?: string }>((resolve) => socket.emit(event, ...args, resolve));

describe('signaling server', () => {
  let server: SignalingServer;
  let client: Socket;
  let pinner: Pinner;
  const ipfsDir = mkdtempSync(join(tmpdir(), 'persecond-ipfs-'));

  beforeAll(async () => {
    pinner = await createPinner({ backend: 'helia', dir: ipfsDir });
    const config = loadSignalingConfig({ PORT: '0', LOG_LEVEL: 'silent' });
    const sfu = await Sfu.create(loadSfuConfig({ SFU_NUM_WORKERS: '1', LOG_LEVEL: 'silent' }));
    server = await createSignalingServer(config, { sfu, pinner });
    client = connect(server.url, { transports: ['websocket'] });
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
  });

  afterAll(async () => {
    client?.close();
    await server?.close();
    await server?.sfu.close();
    await pinner?.close();
    rmSync(ipfsDir, { recursive: true, force: true });
  });

  it('answers /healthz with its mediasoup workers', async () => {
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { ok: boolean; sfu: { workers: number; pids: number[] }; adapter: string };
    expect(body.ok).toBe(true);
    expect(body.sfu.workers).toBe(1);
    expect(body.sfu.pids.every(isAlive)).toBe(true);
    expect(body.adapter).toBe('memory');
  });

  it('exposes Prometheus metrics', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(/^signaling_sockets 1$/m);
    expect(text).toMatch(/^sfu_/m);
  });

  it('answers CORS preflights for the dapp origin only', async () => {
    const preflight = (origin: string) =>
      fetch(`${server.url}/v1/auth/nonce`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
    const ok = await preflight('http://127.0.0.1:5173');
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:5173');
    expect(ok.headers.get('access-control-allow-credentials')).toBe('true');
    const other = await preflight('http://evil.example');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses malformed payloads, unknown events and missing acks with BAD_REQUEST', async () => {
    expect(await emit(client, 'viewer:join', { streamId: 'x' })).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    expect(await emit(client, 'tick:ack', 'not an object')).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    expect(await emit(client, 'no:such:event', {})).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    expect(await emit(client, 'rtc:resume', { consumerId: 'c1' }, 'extra')).toMatchObject({
      ok: false,
      code: 'BAD_REQUEST',
    });
  });

  it('refuses valid requests from a socket that has not signed in', async () => {
    expect(await emit(client, 'rtc:capabilities', { streamId: 'stream-0001' })).toMatchObject({
      ok: false,
      code: 'UNAUTHENTICATED',
    });
  });

  it('closes everything, twice without harm', async () => {
    const pids = server.sfu.health().pids;
    client.close();
    await server.close();
    await server.close();
    await server.sfu.close();
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 200));
    expect(pids.some(isAlive)).toBe(false);
  });
});
