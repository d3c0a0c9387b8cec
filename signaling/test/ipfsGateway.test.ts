import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as dagPb from '@ipld/dag-pb';
import { loadSfuConfig, Sfu } from '@persecond/sfu';
import Fastify from 'fastify';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { sha256 } from 'multiformats/hashes/sha2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSignalingConfig, pinStreamMetadata, type SignalingServer } from '../src/index.ts';
import { createHeliaPinner } from '../src/ipfs/HeliaPinner.ts';
import type { Pinner } from '../src/ipfs/Pinner.ts';
import { RAW_BLOCK_MEDIA_TYPE, registerTrustlessGateway } from '../src/ipfs/trustlessGateway.ts';
import { createSignalingServer } from '../src/SignalingServer.ts';
import { installNetworkGuard, type NetworkGuard } from './ipfsNetworkGuard.ts';
import { pseudoRandomBytes } from './ipfsTestData.ts';

// sha256 of "not stored anywhere" as a raw-leaf CIDv1: valid, but never added to the repository.
const MISSING = CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode('not stored anywhere')));
const PROBE = 'bafkqaaa';
const ALICE = '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY';

/** Checks a gateway answer the way a trustless client does: the body must hash to the CID's multihash. */
async function verifiedBody(res: Response, cid: CID): Promise<Uint8Array> {
  const body = new Uint8Array(await res.arrayBuffer());
  expect(cid.multihash.code).toBe(sha256.code);
  expect(Buffer.from((await sha256.digest(body)).bytes).equals(Buffer.from(cid.multihash.bytes))).toBe(true);
  return body;
}

describe('trustless gateway on a signaling node (embedded Helia)', () => {
  let guard: NetworkGuard;
  let dir: string;
  let pinner: Pinner;
  let server: SignalingServer;
  const raw = (cid: CID | string, init: RequestInit = {}) =>
    fetch(`${server.url}/ipfs/${cid}?format=raw`, {
      ...init,
      headers: { accept: RAW_BLOCK_MEDIA_TYPE, ...init.headers },
    });

  beforeAll(async () => {
    guard = installNetworkGuard();
    dir = await mkdtemp(join(tmpdir(), 'persecond-ipfs-gateway-'));
    pinner = await createHeliaPinner({ dir: join(dir, 'repo') });
    const sfu = await Sfu.create(loadSfuConfig({ SFU_NUM_WORKERS: '1', LOG_LEVEL: 'silent' }));
    server = await createSignalingServer(loadSignalingConfig({ PORT: '0', LOG_LEVEL: 'silent' }), { sfu, pinner });
  });

  afterAll(async () => {
    await server?.close();
    await server?.sfu.close();
    await pinner?.close();
    guard?.uninstall();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('serves the raw block of pinned stream metadata, verifiable against its CID', async () => {
    const cid = await pinStreamMetadata(pinner, {
      version: 1,
      title: 'Gateway test',
      description: '',
      pricePerSecond: 1_000_000_007n,
      asset: 'native',
      creator: ALICE,
      createdAt: '2026-03-01T10:00:00.000Z',
    });
    const res = await raw(cid);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(RAW_BLOCK_MEDIA_TYPE);
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${cid}.bin"`);
    expect(res.headers.get('etag')).toBe(`"${cid}.raw"`);
    expect(res.headers.get('cache-control')).toContain('immutable');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const body = await verifiedBody(res, cid);
    expect(Buffer.from(body).equals(Buffer.from(await pinner.cat(cid)))).toBe(true);
    // Either way of asking is enough.
    const byAccept = await fetch(`${server.url}/ipfs/${cid}`, { headers: { accept: RAW_BLOCK_MEDIA_TYPE } });
    expect(byAccept.status).toBe(200);
    expect(Buffer.from(await byAccept.arrayBuffer()).equals(Buffer.from(body))).toBe(true);
    const byFormat = await fetch(`${server.url}/ipfs/${cid}?format=raw`);
    expect(byFormat.status).toBe(200);
    // Conditional and HEAD requests.
    expect((await raw(cid, { headers: { 'if-none-match': `"${cid}.raw"` } })).status).toBe(304);
    const head = await raw(cid, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(body.byteLength));
  });

  it('serves every block of a multi-block file, so a client can walk and verify the DAG', async () => {
    const bytes = pseudoRandomBytes(600 * 1024, 3);
    const root = await pinner.add(bytes);
    expect(root.code).toBe(dagPb.code);
    const node = dagPb.decode(await verifiedBody(await raw(root), root));
    expect(node.Links.length).toBe(3);
    const leaves: Uint8Array[] = [];
    for (const link of node.Links) leaves.push(await verifiedBody(await raw(link.Hash), link.Hash));
    expect(Buffer.concat(leaves).equals(Buffer.from(bytes))).toBe(true);
  });

  it('answers 404 for a CID it does not hold, without going to the network', async () => {
    const before = guard.attempts.length;
    const res = await raw(MISSING);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { code: string }).code).toBe('IPFS_NOT_FOUND');
    expect((await raw(MISSING, { headers: { 'cache-control': 'only-if-cached' } })).status).toBe(412);
    // Only this test's own loopback requests to the server, nothing else.
    expect(guard.attempts.slice(before).every((a) => a.startsWith('tcp 127.0.0.1:'))).toBe(true);
    expect(guard.nonLoopback()).toEqual([]);
  });

  it('answers 400 for malformed CIDs', async () => {
    for (const bad of ['not-a-cid', 'bafy', 'Qm123', `b${'a'.repeat(90)}`, MISSING.toString().slice(0, -1)]) {
      const res = await raw(bad);
      expect([bad, res.status]).toEqual([bad, 400]);
    }
    // Past fastify's parameter length limit the URL itself is refused.
    expect((await raw('z'.repeat(300))).status).toBe(414);
  });

  it('serves raw blocks only: 400 without a response type, 406 for other formats', async () => {
    const cid = await pinner.add(new TextEncoder().encode('format negotiation'));
    expect((await fetch(`${server.url}/ipfs/${cid}`)).status).toBe(400);
    expect((await fetch(`${server.url}/ipfs/${cid}`, { headers: { accept: '*/*' } })).status).toBe(400);
    expect((await fetch(`${server.url}/ipfs/${cid}`, { headers: { accept: 'text/html' } })).status).toBe(406);
    expect((await fetch(`${server.url}/ipfs/${cid}?format=car`)).status).toBe(406);
    // `format` takes precedence over Accept.
    const preferred = await fetch(`${server.url}/ipfs/${cid}?format=raw`, { headers: { accept: 'text/html' } });
    expect(preferred.status).toBe(200);
  });

  it('answers the trustless gateway probe (the empty identity CID) with an empty block', async () => {
    const res = await raw(PROBE);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(RAW_BLOCK_MEDIA_TYPE);
    expect((await res.arrayBuffer()).byteLength).toBe(0);
  });
});

describe('trustless gateway size cap', () => {
  it('refuses blocks above the cap with 403 and serves those below', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'persecond-ipfs-gateway-cap-'));
    const pinner = await createHeliaPinner({ dir });
    const app = Fastify();
    try {
      registerTrustlessGateway(app, pinner, { maxBlockBytes: 1024 });
      const url = await app.listen({ host: '127.0.0.1', port: 0 });
      const small = await pinner.add(pseudoRandomBytes(1024, 1));
      const big = await pinner.add(pseudoRandomBytes(1025, 2));
      expect((await fetch(`${url}/ipfs/${small}?format=raw`)).status).toBe(200);
      const refused = await fetch(`${url}/ipfs/${big}?format=raw`);
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as { code: string }).code).toBe('IPFS_TOO_LARGE');
    } finally {
      await app.close();
      await pinner.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
