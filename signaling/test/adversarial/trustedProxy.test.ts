// The sign-in limiter behind a reverse proxy: with TRUST_PROXY each client (real sockets from distinct loopback
// addresses, through a real proxy that appends X-Forwarded-For) gets its own bucket; without it, or from a peer that
// is not the proxy, X-Forwarded-For is ignored and cannot be spoofed to get a fresh bucket.
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authModule } from '../../src/auth/AuthModule.ts';
import { loadAuthConfig } from '../../src/auth/config.ts';
import { loadSignalingConfig, type SignalingServer } from '../../src/index.ts';
import { devWallets } from '../support/clients.ts';
import { type SignalingStack, startSignalingStack } from '../support/signalingStack.ts';

const LIMIT = 2;

/** POSTs JSON from `localAddress` and answers the status. */
function post(url: string, body: unknown, opts: { localAddress: string; forwardedFor?: string }): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method: 'POST',
        localAddress: opts.localAddress,
        headers: {
          'content-type': 'application/json',
          ...(opts.forwardedFor ? { 'x-forwarded-for': opts.forwardedFor } : {}),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** A reverse proxy to `target` that appends its peer's address to X-Forwarded-For, as nginx's proxy_add_x_forwarded_for. */
async function startProxy(target: string): Promise<{ url: string; close(): Promise<void> }> {
  const to = new URL(target);
  const server: Server = createServer((req, res) => {
    const prior = req.headers['x-forwarded-for'];
    const forwarded = [prior, req.socket.remoteAddress].filter(Boolean).join(', ');
    const upstream = httpRequest(
      {
        host: to.hostname,
        port: to.port,
        path: req.url,
        method: req.method,
        headers: { ...req.headers, 'x-forwarded-for': forwarded },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('sign-in limiter behind a proxy (TRUST_PROXY)', () => {
  let stack: SignalingStack;
  let address: string;
  const proxies: { close(): Promise<void> }[] = [];

  /** A node whose sign-in allows LIMIT requests per client address and minute, with `env` over the defaults. */
  const node = (env: Record<string, string> = {}): Promise<SignalingServer> =>
    stack.startServer({ modules: [authModule(loadAuthConfig({ AUTH_RATE_LIMIT_MAX: String(LIMIT) }))] }, { ...env });
  const proxyTo = async (server: SignalingServer) => {
    const proxy = await startProxy(server.url);
    proxies.push(proxy);
    return proxy.url;
  };
  /** Statuses of `n` nonce requests. */
  const nonces = async (url: string, n: number, opts: { localAddress: string; forwardedFor?: string }) => {
    const statuses: number[] = [];
    for (let i = 0; i < n; i++) statuses.push(await post(`${url}/v1/auth/nonce`, { address }, opts));
    return statuses;
  };

  beforeAll(async () => {
    address = (await devWallets()).alice.address;
    stack = await startSignalingStack({ server: { modules: [authModule(loadAuthConfig({}))] } });
  });

  afterAll(async () => {
    for (const p of proxies) await p.close();
    await stack?.close();
  });

  it('without a trusted proxy, ignores X-Forwarded-For: a client cannot spoof its way to fresh buckets', async () => {
    const server = await node();
    const spoofs = ['198.51.100.1', '198.51.100.2', '198.51.100.3', '198.51.100.4'];
    const statuses: number[] = [];
    for (const forwardedFor of spoofs) {
      statuses.push(...(await nonces(server.url, 1, { localAddress: '127.0.0.2', forwardedFor })));
    }
    expect(statuses).toEqual([200, 200, 429, 429]);
    // Another client has its own bucket (keyed on the peer address).
    expect(await nonces(server.url, 1, { localAddress: '127.0.0.3' })).toEqual([200]);
  });

  it('behind a trusted proxy, gives each client its own bucket and ignores what a client prepends', async () => {
    const server = await node({ TRUST_PROXY: '127.0.0.1' });
    const proxy = await proxyTo(server);
    expect(await nonces(proxy, 3, { localAddress: '127.0.0.2' })).toEqual([200, 200, 429]);
    // A second client through the same proxy: a fresh bucket (without TRUST_PROXY both would share the proxy's).
    expect(await nonces(proxy, 2, { localAddress: '127.0.0.3' })).toEqual([200, 200]);
    // The limited client names someone else in front of the proxy's entry: still its own, spent, bucket.
    expect(await nonces(proxy, 1, { localAddress: '127.0.0.2', forwardedFor: '203.0.113.9' })).toEqual([429]);
    // Straight to the node from a peer that is not the trusted proxy: the header counts for nothing.
    expect(await nonces(server.url, 1, { localAddress: '127.0.0.6', forwardedFor: '203.0.113.10' })).toEqual([200]);
    expect(await nonces(server.url, 2, { localAddress: '127.0.0.6', forwardedFor: '203.0.113.11' })).toEqual([
      200, 429,
    ]);
  });

  it('without TRUST_PROXY, a proxy puts every client in one bucket (what the setting fixes)', async () => {
    const server = await node();
    const proxy = await proxyTo(server);
    expect(await nonces(proxy, 2, { localAddress: '127.0.0.2' })).toEqual([200, 200]);
    expect(await nonces(proxy, 1, { localAddress: '127.0.0.3' })).toEqual([429]);
  });

  it('with a hop count, takes the client from that many proxies back', async () => {
    const server = await node({ TRUST_PROXY: '1' });
    const proxy = await proxyTo(server);
    expect(await nonces(proxy, 3, { localAddress: '127.0.0.4' })).toEqual([200, 200, 429]);
    expect(await nonces(proxy, 1, { localAddress: '127.0.0.5', forwardedFor: '127.0.0.4' })).toEqual([200]);
  });

  it('refuses a TRUST_PROXY that is neither a hop count nor addresses', () => {
    for (const bad of ['true', '0', 'proxy.example', '10.0.0.0/33', '1.2.3.4/8/1']) {
      expect(() => loadSignalingConfig({ TRUST_PROXY: bad }), bad).toThrow(/TRUST_PROXY/);
    }
    expect(loadSignalingConfig({ TRUST_PROXY: '10.0.0.0/8, ::1, loopback' }).TRUST_PROXY).toEqual({
      addresses: ['10.0.0.0/8', '::1', 'loopback'],
    });
    expect(loadSignalingConfig({ TRUST_PROXY: '2' }).TRUST_PROXY).toEqual({ hops: 2 });
    expect(loadSignalingConfig({}).TRUST_PROXY).toBeUndefined();
  });
});
