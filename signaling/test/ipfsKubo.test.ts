import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryBlockstore } from 'blockstore-core';
import { MemoryDatastore } from 'datastore-core';
import fc from 'fast-check';
import { createHeliaLight, type Helia } from 'helia';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIpfsConfig } from '../src/ipfs/config.ts';
import { createPinner } from '../src/ipfs/createPinner.ts';
import { createHeliaPinner } from '../src/ipfs/HeliaPinner.ts';
import { createKuboPinner } from '../src/ipfs/KuboPinner.ts';
import type { Pinner } from '../src/ipfs/Pinner.ts';
import { KUBO_CHUNK_SIZE, KUBO_MAX_LINKS } from '../src/ipfs/unixfsLayout.ts';
import { type HeliaBackedKuboRpcServer, startHeliaBackedKuboRpcServer } from './ipfsKuboRpcTestServer.ts';
import { installNetworkGuard, type NetworkGuard } from './ipfsNetworkGuard.ts';
import { emptyDirectoryBlock, pseudoRandomBytes } from './ipfsTestData.ts';

const text = (s: string) => new TextEncoder().encode(s);
const HELLO_WORLD_V1 = 'bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e';
const MISSING = 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy';

let guard: NetworkGuard;
let dir: string;
let serverNode: Helia;
let rpc: HeliaBackedKuboRpcServer;
let kubo: Pinner;
let embedded: Pinner;

beforeAll(async () => {
  guard = installNetworkGuard();
  dir = await mkdtemp(join(tmpdir(), 'persecond-ipfs-kubo-'));
  serverNode = createHeliaLight({ blockstore: new MemoryBlockstore(), datastore: new MemoryDatastore() });
  await serverNode.start();
  rpc = await startHeliaBackedKuboRpcServer(serverNode);
  kubo = await createKuboPinner({ url: rpc.url, timeoutMs: 10_000 });
  embedded = await createHeliaPinner({ dir: join(dir, 'embedded') });
});

afterAll(async () => {
  await kubo?.close();
  await embedded?.close();
  await rpc?.close();
  await serverNode?.stop();
  guard?.uninstall();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('Kubo RPC pinner against a loopback Kubo-RPC endpoint (Helia-backed test server)', () => {
  it('adds, pins and reads "hello world" through /api/v0 with the Kubo CID', async () => {
    const cid = await kubo.add(text('hello world'));
    expect(cid.toString()).toBe(HELLO_WORLD_V1);
    expect(new TextDecoder().decode(await kubo.cat(cid))).toBe('hello world');
    expect(await kubo.isPinned(cid)).toBe(true);
    const add = new URL(rpc.requests.find((r) => r.startsWith('/api/v0/add?'))!, rpc.url).searchParams;
    // What a real Kubo needs to build the same DAG whatever its Import.* defaults are.
    expect(
      Object.fromEntries(['cid-version', 'raw-leaves', 'chunker', 'hash', 'pin'].map((k) => [k, add.get(k)])),
    ).toEqual({ 'cid-version': '1', 'raw-leaves': 'true', chunker: 'size-262144', hash: 'sha2-256', pin: 'true' });
    expect(rpc.requests.some((r) => r.startsWith('/api/v0/cat?'))).toBe(true);
    expect(rpc.requests.some((r) => r.startsWith('/api/v0/pin/ls?'))).toBe(true);
  });

  it('addJson sends the canonical encoding', async () => {
    const cid = await kubo.addJson({ b: [2, { y: null, x: 'é' }], a: 1 });
    expect(new TextDecoder().decode(await kubo.cat(cid))).toBe('{"a":1,"b":[2,{"x":"é","y":null}]}');
  });

  it('pins existing content idempotently; unknown content is not pinned', async () => {
    const cid = await kubo.add(text('pinned over rpc'));
    await kubo.pin(cid);
    await kubo.pin(cid.toString());
    expect(await kubo.isPinned(cid)).toBe(true);
    expect(await kubo.isPinned(MISSING)).toBe(false);
  });

  it('maps RPC failures to codes', async () => {
    await expect(kubo.cat(MISSING)).rejects.toMatchObject({ code: 'IPFS_NOT_FOUND' });
    await expect(kubo.pin(MISSING)).rejects.toMatchObject({ code: 'IPFS_NOT_FOUND' });
    await expect(kubo.cat('bafy-not-a-cid')).rejects.toMatchObject({ code: 'IPFS_INVALID_CID' });
    const cid = await kubo.add(text('0123456789'));
    await expect(kubo.cat(cid, { maxBytes: 9 })).rejects.toMatchObject({ code: 'IPFS_TOO_LARGE' });
    await expect(kubo.add(text('x'), { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'IPFS_ABORTED' });
    const directory = await emptyDirectoryBlock();
    await serverNode.blockstore.put(directory.cid, directory.bytes);
    await expect(kubo.cat(directory.cid)).rejects.toMatchObject({ code: 'IPFS_NOT_A_FILE' });
  });

  it('reports an unreachable endpoint as IPFS_UNAVAILABLE and a silent one as IPFS_TIMEOUT', async () => {
    const silent = http.createServer(() => {
      // Never answers: the pinner's time limit must end the request.
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const slow = await createKuboPinner({ url: `http://127.0.0.1:${port}`, timeoutMs: 300 });
    try {
      await expect(slow.isPinned(HELLO_WORLD_V1)).rejects.toMatchObject({ code: 'IPFS_TIMEOUT' });
    } finally {
      await slow.close();
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
    const gone = await createKuboPinner({ url: `http://127.0.0.1:${port}`, timeoutMs: 5_000 });
    try {
      await expect(gone.add(text('x'))).rejects.toMatchObject({ code: 'IPFS_UNAVAILABLE' });
    } finally {
      await gone.close();
    }
  });

  it('rejects pending and later work once closed; close twice is fine', async () => {
    const own = await createKuboPinner({ url: rpc.url, timeoutMs: 10_000 });
    const pending = expect(own.add(pseudoRandomBytes(4 * KUBO_CHUNK_SIZE, 9))).rejects.toMatchObject({
      code: 'IPFS_CLOSED',
    });
    await own.close();
    await own.close();
    await pending;
    await expect(own.cat(HELLO_WORLD_V1)).rejects.toMatchObject({ code: 'IPFS_CLOSED' });
    await expect(own.pin(HELLO_WORLD_V1)).rejects.toMatchObject({ code: 'IPFS_CLOSED' });
  });
});

describe('both backends yield identical CIDs', () => {
  it('for chunk-boundary and multi-level files', async () => {
    const sizes = [
      0,
      1,
      KUBO_CHUNK_SIZE - 1,
      KUBO_CHUNK_SIZE,
      KUBO_CHUNK_SIZE + 1,
      KUBO_CHUNK_SIZE * (KUBO_MAX_LINKS + 1),
    ];
    for (const [i, size] of sizes.entries()) {
      const bytes = pseudoRandomBytes(size, 100 + i);
      const [a, b] = await Promise.all([embedded.add(bytes), kubo.add(bytes)]);
      expect(b.toString(), `size ${size}`).toBe(a.toString());
    }
  });

  it('for arbitrary bytes and JSON values (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 4096 }), fc.jsonValue({ maxDepth: 3 }), async (bytes, json) => {
        expect((await kubo.add(bytes)).toString()).toBe((await embedded.add(bytes)).toString());
        const canonical = JSON.parse(JSON.stringify(json));
        expect((await kubo.addJson(canonical)).toString()).toBe((await embedded.addJson(canonical)).toString());
      }),
      { numRuns: 40 },
    );
  });
});

describe('configuration and factory', () => {
  it('uses Kubo when IPFS_RPC_URL is set and embedded Helia otherwise', async () => {
    const kuboConfig = parseIpfsConfig({ IPFS_RPC_URL: rpc.url, IPFS_TIMEOUT_MS: '5000' });
    expect(kuboConfig).toEqual({ backend: 'kubo', url: rpc.url, timeoutMs: 5000 });
    const viaFactory = await createPinner(kuboConfig);
    try {
      expect(viaFactory.backend).toBe('kubo');
      expect((await viaFactory.add(text('hello world'))).toString()).toBe(HELLO_WORLD_V1);
    } finally {
      await viaFactory.close();
    }

    const heliaConfig = parseIpfsConfig({ IPFS_DIR: join(dir, 'factory') });
    expect(heliaConfig).toEqual({ backend: 'helia', dir: join(dir, 'factory') });
    const embeddedViaFactory = await createPinner(heliaConfig);
    try {
      expect(embeddedViaFactory.backend).toBe('helia');
      expect((await embeddedViaFactory.add(text('hello world'))).toString()).toBe(HELLO_WORLD_V1);
    } finally {
      await embeddedViaFactory.close();
    }

    expect(parseIpfsConfig({})).toMatchObject({ backend: 'helia', dir: expect.stringMatching(/\/\.data\/ipfs$/) });
    expect(() => parseIpfsConfig({ IPFS_RPC_URL: 'ftp://example.com' })).toThrow();
    expect(() => parseIpfsConfig({ IPFS_TIMEOUT_MS: '-1' })).toThrow();
  });

  it('made zero non-loopback network attempts', () => {
    expect(guard.nonLoopback()).toEqual([]);
    expect(guard.attempts.some((a) => a.startsWith('tcp 127.0.0.1'))).toBe(true);
  });
});
