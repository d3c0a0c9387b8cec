import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unixfs } from '@helia/unixfs';
import * as dagPb from '@ipld/dag-pb';
import { MemoryBlockstore } from 'blockstore-core';
import { FsBlockstore } from 'blockstore-fs';
import { MemoryDatastore } from 'datastore-core';
import { createHeliaLight } from 'helia';
import { UnixFS } from 'ipfs-unixfs';
import type { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHeliaPinner } from '../src/ipfs/HeliaPinner.ts';
import type { Pinner } from '../src/ipfs/Pinner.ts';
import { KUBO_CHUNK_SIZE, KUBO_MAX_LINKS, kuboImportOptions } from '../src/ipfs/unixfsLayout.ts';
import { installNetworkGuard, type NetworkGuard } from './ipfsNetworkGuard.ts';
import { emptyDirectoryBlock, pseudoRandomBytes } from './ipfsTestData.ts';

const text = (s: string) => new TextEncoder().encode(s);
// Kubo's published vectors (`ipfs add --cid-version=1`, and the sharness 10e6 x "1" file with default CIDv0).
const HELLO_WORLD_V1 = 'bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e';
const EMPTY_V1 = 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku';
const TEN_MILLION_ONES_V0 = 'QmcpodjWsEmGP7bpSSP5YGc1QGkXoLfMj5MiBLzTaU8ahv';
const MISSING = 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy';

let guard: NetworkGuard;
let dir: string;
let pinner: Pinner;

beforeAll(async () => {
  guard = installNetworkGuard();
  dir = await mkdtemp(join(tmpdir(), 'persecond-ipfs-helia-'));
  pinner = await createHeliaPinner({ dir: join(dir, 'repo') });
});

afterAll(async () => {
  await pinner?.close();
  guard?.uninstall();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('Helia pinner: Kubo-compatible CIDs', () => {
  it('adds "hello world" with the CID Kubo publishes and reads it back', async () => {
    const cid = await pinner.add(text('hello world'));
    expect(cid.toString()).toBe(HELLO_WORLD_V1);
    expect(new TextDecoder().decode(await pinner.cat(cid))).toBe('hello world');
    expect(await pinner.isPinned(cid)).toBe(true);
  });

  it('adds the empty file with Kubo CID', async () => {
    const cid = await pinner.add(new Uint8Array(0));
    expect(cid.toString()).toBe(EMPTY_V1);
    expect(await pinner.cat(cid.toString())).toEqual(new Uint8Array(0));
  });

  it("chunks like Kubo: the 10e6 x '1' sharness vector (CIDv0 form of the same layout)", async () => {
    const blockstore = new MemoryBlockstore();
    const helia = createHeliaLight({ blockstore, datastore: new MemoryDatastore() });
    await helia.start();
    try {
      const cid = await unixfs(helia).addBytes(new Uint8Array(10_000_000).fill(0x31), {
        ...kuboImportOptions(),
        cidVersion: 0,
        rawLeaves: false,
      });
      expect(cid.toString()).toBe(TEN_MILLION_ONES_V0);
    } finally {
      await helia.stop();
    }
  });

  it('builds a multi-chunk file with Kubo DAG shape: 256 KiB raw leaves, at most 174 links per node', async () => {
    const leaves = KUBO_MAX_LINKS + 2;
    const bytes = pseudoRandomBytes(KUBO_CHUNK_SIZE * (leaves - 1) + 1000, 7);
    const cid = await pinner.add(bytes);
    expect(cid.version).toBe(1);
    expect(cid.code).toBe(dagPb.code);
    // Buffer.equals: vitest's deep equality on 46 MB would take minutes.
    expect(Buffer.from(await pinner.cat(cid, { maxBytes: bytes.byteLength })).equals(bytes)).toBe(true);

    // Read the DAG straight from the blockstore files.
    const store = new FsBlockstore(join(dir, 'repo', 'blocks'));
    await store.open();
    try {
      const node = async (c: CID) => {
        const parts: Uint8Array[] = [];
        for await (const p of store.get(c)) parts.push(p);
        return Buffer.concat(parts);
      };
      const root = dagPb.decode(await node(cid));
      expect(root.Links).toHaveLength(2);
      expect(UnixFS.unmarshal(root.Data!).type).toBe('file');
      const children = await Promise.all(root.Links.map(async (l) => dagPb.decode(await node(l.Hash))));
      expect(children.map((c) => c.Links.length)).toEqual([KUBO_MAX_LINKS, 2]);
      const leafLinks = children.flatMap((c) => c.Links);
      expect(leafLinks.every((l) => l.Hash.code === raw.code && l.Hash.version === 1)).toBe(true);
      expect(leafLinks.slice(0, -1).every((l) => l.Tsize === KUBO_CHUNK_SIZE)).toBe(true);
      expect(leafLinks.at(-1)?.Tsize).toBe(1000);
      expect(UnixFS.unmarshal(children[0]!.Data!).blockSizes).toEqual(
        Array.from({ length: KUBO_MAX_LINKS }, () => BigInt(KUBO_CHUNK_SIZE)),
      );
    } finally {
      await store.close();
    }
  });
});

describe('Helia pinner: JSON, pins and errors', () => {
  it('addJson stores canonical DAG-JSON: key order does not change the CID', async () => {
    const a = await pinner.addJson({ title: 'x', n: 1, nested: { z: true, a: [1, 'two'] } });
    const b = await pinner.addJson({ nested: { a: [1, 'two'], z: true }, n: 1, title: 'x' });
    expect(a.toString()).toBe(b.toString());
    expect(new TextDecoder().decode(await pinner.cat(a))).toBe('{"n":1,"nested":{"a":[1,"two"],"z":true},"title":"x"}');
    await expect(pinner.addJson({ bad: undefined })).rejects.toMatchObject({ code: 'IPFS_INVALID_JSON' });
    await expect(pinner.addJson({ bad: Number.NaN })).rejects.toMatchObject({ code: 'IPFS_INVALID_JSON' });
  });

  it('pin is idempotent and isPinned is false for unknown content', async () => {
    const cid = await pinner.add(text('pin me'));
    await pinner.pin(cid);
    await Promise.all([pinner.pin(cid), pinner.pin(cid.toString())]);
    expect(await pinner.isPinned(cid)).toBe(true);
    expect(await pinner.isPinned(MISSING)).toBe(false);
  });

  it('reports missing content, bad CIDs and oversized files with codes', async () => {
    await expect(pinner.cat(MISSING)).rejects.toMatchObject({ code: 'IPFS_NOT_FOUND' });
    await expect(pinner.pin(MISSING)).rejects.toMatchObject({ code: 'IPFS_NOT_FOUND' });
    await expect(pinner.cat('not-a-cid')).rejects.toMatchObject({ code: 'IPFS_INVALID_CID' });
    await expect(pinner.isPinned('')).rejects.toMatchObject({ code: 'IPFS_INVALID_CID' });
    const cid = await pinner.add(text('0123456789'));
    await expect(pinner.cat(cid, { maxBytes: 9 })).rejects.toMatchObject({ code: 'IPFS_TOO_LARGE' });
    expect(await pinner.cat(cid, { maxBytes: 10 })).toHaveLength(10);
  });

  it('refuses to read a directory as a file (IPFS_NOT_A_FILE) but can pin it', async () => {
    const directory = await emptyDirectoryBlock();
    const store = new FsBlockstore(join(dir, 'repo', 'blocks'));
    await store.open();
    await store.put(directory.cid, directory.bytes);
    await store.close();
    await expect(pinner.cat(directory.cid)).rejects.toMatchObject({ code: 'IPFS_NOT_A_FILE' });
    await pinner.pin(directory.cid);
    expect(await pinner.isPinned(directory.cid)).toBe(true);
  });

  it('a caller signal aborts an operation with IPFS_ABORTED', async () => {
    await expect(pinner.add(text('never'), { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'IPFS_ABORTED',
    });
  });
});

describe('Helia pinner: persistence and close', () => {
  it('keeps data and pins across close and reopen, and rejects work after close', async () => {
    const repo = join(dir, 'persist');
    const first = await createHeliaPinner({ dir: repo });
    const cid = await first.addJson({ persisted: true });
    const pending = expect(first.add(pseudoRandomBytes(8 * KUBO_CHUNK_SIZE, 3))).rejects.toMatchObject({
      code: 'IPFS_CLOSED',
    });
    await first.close();
    await pending;
    await first.close();
    await expect(first.cat(cid)).rejects.toMatchObject({ code: 'IPFS_CLOSED' });
    await expect(first.add(text('late'))).rejects.toMatchObject({ code: 'IPFS_CLOSED' });
    await expect(first.isPinned(cid)).rejects.toMatchObject({ code: 'IPFS_CLOSED' });

    const second = await createHeliaPinner({ dir: repo });
    try {
      expect(new TextDecoder().decode(await second.cat(cid))).toBe('{"persisted":true}');
      expect(await second.isPinned(cid)).toBe(true);
    } finally {
      await second.close();
    }
  });
});

describe('network isolation', () => {
  it('the guard itself notices and refuses a non-loopback attempt', async () => {
    const probe = installNetworkGuard();
    try {
      const net = await import('node:net');
      const socket = net.connect(80, '192.0.2.1');
      await new Promise((resolve) => socket.once('error', resolve));
      expect(probe.nonLoopback()).toEqual(['tcp 192.0.2.1:80']);
    } finally {
      probe.uninstall();
    }
  });

  it('the embedded node made zero network attempts during this file', () => {
    // Not even loopback: createHeliaLight has no libp2p, routers or block brokers.
    expect(guard.attempts).toEqual([]);
  });
});
