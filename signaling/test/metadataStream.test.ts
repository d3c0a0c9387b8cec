import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_PRICE_PER_SECOND, SETTLE_EVERY_BOUNDS } from '@persecond/contracts-client';
import {
  decodeStreamMetadata,
  encodeStreamMetadata,
  MAX_STREAM_METADATA_BYTES,
  type StreamMetadata,
} from '@persecond/contracts-client/metadata';
import { encodeAddress } from '@polkadot/util-crypto';
import fc from 'fast-check';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import * as Digest from 'multiformats/hashes/digest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCanonicalJson } from '../src/ipfs/canonicalJson.ts';
import { createHeliaPinner } from '../src/ipfs/HeliaPinner.ts';
import type { Pinner } from '../src/ipfs/Pinner.ts';
import { fetchStreamMetadata, pinStreamMetadata } from '../src/metadata/streamMetadataPinning.ts';

const ALICE = '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY';
const U128_MAX = (1n << 128n) - 1n;

const example: StreamMetadata = {
  version: 1,
  title: 'Live coding: a pay-per-second dApp',
  description: 'Building Persecond live.\nAsk questions in chat.',
  pricePerSecond: 1_000_000_000n,
  asset: 'native',
  creator: ALICE,
  thumbnail: 'bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e',
  createdAt: '2026-11-20T23:54:18.000Z',
};

const text = fc.string({ unit: 'binary', maxLength: 300 });
const arbitraryMetadata: fc.Arbitrary<StreamMetadata> = fc.record(
  {
    version: fc.constant(1 as const),
    title: fc
      .string({ unit: 'binary', minLength: 1, maxLength: 200 })
      .filter((s) => s.length <= 200 && s.trim() === s && s.length > 0),
    description: text,
    pricePerSecond: fc.bigInt({ min: 1n, max: MAX_PRICE_PER_SECOND }),
    asset: fc.oneof(fc.constant('native' as const), fc.integer({ min: 0, max: 2 ** 32 - 1 })),
    creator: fc
      .tuple(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.constantFrom(0, 2, 42))
      .map(([key, prefix]) => encodeAddress(key, prefix)),
    thumbnail: fc
      .uint8Array({ minLength: 32, maxLength: 32 })
      .map((hash) => CID.create(1, raw.code, Digest.create(0x12, hash)).toString()),
    createdAt: fc
      .date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true })
      .map((d) => d.toISOString()),
    terms: fc.record({
      settleEverySeconds: fc.integer({ min: SETTLE_EVERY_BOUNDS.min, max: SETTLE_EVERY_BOUNDS.max }),
      payAhead: fc.boolean(),
    }),
  },
  { requiredKeys: ['version', 'title', 'description', 'pricePerSecond', 'asset', 'creator', 'createdAt'] },
);

let dir: string;
let pinner: Pinner;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'persecond-metadata-'));
  pinner = await createHeliaPinner({ dir });
});

afterAll(async () => {
  await pinner?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('stream metadata encoding', () => {
  it('is canonical DAG-JSON with the price as a decimal string', () => {
    expect(new TextDecoder().decode(encodeStreamMetadata(example))).toBe(
      '{"asset":"native","createdAt":"2026-11-20T23:54:18.000Z","creator":"5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",' +
        '"description":"Building Persecond live.\\nAsk questions in chat.","pricePerSecond":"1000000000",' +
        '"thumbnail":"bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e",' +
        '"title":"Live coding: a pay-per-second dApp","version":1}',
    );
  });

  it('round-trips any valid document exactly (property)', () => {
    fc.assert(
      fc.property(arbitraryMetadata, (meta) => {
        const bytes = encodeStreamMetadata(meta);
        expect(bytes.byteLength).toBeLessThanOrEqual(MAX_STREAM_METADATA_BYTES);
        expect(decodeStreamMetadata(bytes)).toEqual(meta);
      }),
      { numRuns: 500 },
    );
  });

  it('accepts a document without terms (written before they existed) and one with them', () => {
    expect(decodeStreamMetadata(encodeStreamMetadata(example))).toEqual(example);
    const withTerms = { ...example, terms: { settleEverySeconds: 30, payAhead: true } };
    expect(new TextDecoder().decode(encodeStreamMetadata(withTerms))).toContain(
      '"terms":{"payAhead":true,"settleEverySeconds":30}',
    );
    expect(decodeStreamMetadata(encodeStreamMetadata(withTerms))).toEqual(withTerms);
  });

  it('the largest possible document still fits the size limit', () => {
    const worst = {
      ...example,
      title: '\u0000'.repeat(200),
      description: '\u0001'.repeat(5000),
      pricePerSecond: MAX_PRICE_PER_SECOND,
      terms: { settleEverySeconds: SETTLE_EVERY_BOUNDS.max, payAhead: true },
    };
    expect(decodeStreamMetadata(encodeStreamMetadata(worst))).toEqual(worst);
  });
});

describe('pinStreamMetadata / fetchStreamMetadata', () => {
  it('pins and fetches documents unchanged; key order never changes the CID (property)', async () => {
    await fc.assert(
      fc.asyncProperty(arbitraryMetadata, async (meta) => {
        const cid = await pinStreamMetadata(pinner, meta);
        const reordered = Object.fromEntries(Object.entries(meta).reverse()) as StreamMetadata;
        expect((await pinStreamMetadata(pinner, reordered)).toString()).toBe(cid.toString());
        expect(await fetchStreamMetadata(pinner, cid)).toEqual(meta);
        expect(await pinner.isPinned(cid)).toBe(true);
      }),
      { numRuns: 40 },
    );
  });

  it('refuses to pin invalid documents with METADATA_INVALID and the failing fields', async () => {
    const bad = { ...example, title: ' padded ', pricePerSecond: 0n } as StreamMetadata;
    const err = await pinStreamMetadata(pinner, bad).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'METADATA_INVALID' });
    expect((err as { issues: { path: PropertyKey[] }[] }).issues.map((i) => i.path.join('.')).sort()).toEqual([
      'pricePerSecond',
      'title',
    ]);
  });

  it('refuses text that cannot survive UTF-8 (lone surrogates)', async () => {
    await expect(pinStreamMetadata(pinner, { ...example, description: 'broken \uD800 pair' })).rejects.toMatchObject({
      code: 'METADATA_INVALID',
    });
  });

  const badDocuments: [string, Record<string, unknown>][] = [
    ['zero price', { pricePerSecond: '0' }],
    ['price with a leading zero', { pricePerSecond: '01' }],
    ['negative price', { pricePerSecond: '-1' }],
    ['price over u128', { pricePerSecond: (U128_MAX + 1n).toString() }],
    ['price over MAX_PRICE_PER_SECOND', { pricePerSecond: (MAX_PRICE_PER_SECOND + 1n).toString() }],
    [
      'settle interval below the bounds',
      { terms: { settleEverySeconds: SETTLE_EVERY_BOUNDS.min - 1, payAhead: false } },
    ],
    [
      'settle interval above the bounds',
      { terms: { settleEverySeconds: SETTLE_EVERY_BOUNDS.max + 1, payAhead: false } },
    ],
    ['settle interval not an integer', { terms: { settleEverySeconds: 10.5, payAhead: false } }],
    ['terms without payAhead', { terms: { settleEverySeconds: 10 } }],
    ['terms with an unknown field', { terms: { settleEverySeconds: 10, payAhead: false, extra: 1 } }],
    ['payAhead as a string', { terms: { settleEverySeconds: 10, payAhead: 'yes' } }],
    ['price as a number', { pricePerSecond: 1000 }],
    ['asset id over u32', { asset: 2 ** 32 }],
    ['negative asset id', { asset: -1 }],
    ['asset id as a string', { asset: '1984' }],
    ['unknown asset name', { asset: 'dot' }],
    ['creator with a bad checksum', { creator: `${ALICE.slice(0, -1)}Z` }],
    ['creator as hex', { creator: `0x${'11'.repeat(32)}` }],
    ['non-canonical thumbnail CID', { thumbnail: 'BAFKREIFZJUT3TE2NHYEKKLSS27NH3K72YSCO7Y32KOAO5EEI66WOF36N5E' }],
    ['createdAt with an offset', { createdAt: '2026-11-20T23:54:18+01:00' }],
    ['createdAt not a date', { createdAt: 'yesterday' }],
    ['empty title', { title: '' }],
    ['title too long', { title: 'x'.repeat(201) }],
    ['description too long', { description: 'x'.repeat(5001) }],
    ['version 2', { version: 2 }],
    ['unknown field', { extra: true }],
    ['missing creator', { creator: undefined }],
  ];

  it.each(badDocuments)('fetch refuses a pinned document with %s (METADATA_INVALID)', async (_, change) => {
    const document = { ...encodedExample(), ...change };
    const cid = await pinner.add(encodeCanonicalJson(JSON.parse(JSON.stringify(document))));
    await expect(fetchStreamMetadata(pinner, cid)).rejects.toMatchObject({ code: 'METADATA_INVALID' });
  });

  it('fetch refuses non-JSON, non-canonical JSON and arbitrary JSON values (property)', async () => {
    const canonical = new TextDecoder().decode(encodeStreamMetadata(example));
    for (const bytes of [
      new Uint8Array([0xff, 0xfe, 0x00]),
      new TextEncoder().encode(canonical.replace('{"asset"', '{ "asset"')),
      new TextEncoder().encode(JSON.stringify(JSON.parse(canonical), Object.keys(JSON.parse(canonical)).reverse())),
    ]) {
      await expect(fetchStreamMetadata(pinner, await pinner.add(bytes))).rejects.toMatchObject({
        code: 'METADATA_INVALID',
      });
    }
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 3 }), async (value) => {
        const cid = await pinner.add(encodeCanonicalJson(JSON.parse(JSON.stringify(value))));
        await expect(fetchStreamMetadata(pinner, cid)).rejects.toMatchObject({ code: 'METADATA_INVALID' });
      }),
      { numRuns: 50 },
    );
  });

  it('fetch refuses oversized documents with METADATA_TOO_LARGE without reading them whole', async () => {
    const huge = { ...encodedExample(), description: 'x'.repeat(MAX_STREAM_METADATA_BYTES) };
    const cid = await pinner.add(encodeCanonicalJson(huge));
    await expect(fetchStreamMetadata(pinner, cid)).rejects.toMatchObject({ code: 'METADATA_TOO_LARGE' });
    expect(() => decodeStreamMetadata(encodeCanonicalJson(huge))).toThrow(
      expect.objectContaining({ code: 'METADATA_TOO_LARGE' }),
    );
  });

  it('passes IPFS failures through with their own codes', async () => {
    await expect(
      fetchStreamMetadata(pinner, 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'),
    ).rejects.toMatchObject({ code: 'IPFS_NOT_FOUND' });
    await expect(fetchStreamMetadata(pinner, 'nope')).rejects.toMatchObject({ code: 'IPFS_INVALID_CID' });
  });
});

function encodedExample(): Record<string, unknown> {
  return JSON.parse(new TextDecoder().decode(encodeStreamMetadata(example))) as Record<string, unknown>;
}
