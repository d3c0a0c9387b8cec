import { decodeAddress } from '@polkadot/util-crypto';
import { CID } from 'multiformats/cid';
import { z } from 'zod';
import { MAX_PRICE_PER_SECOND, SETTLE_EVERY_BOUNDS } from '../paymentTerms.ts';

/** Largest planck amount the chain can hold (u128). */
const U128_MAX = (1n << 128n) - 1n;

/** Largest assets-pallet id (u32). */
const ASSET_ID_MAX = 2 ** 32 - 1;

/** Largest encoded document; any schema-valid document fits well below it. */
export const MAX_STREAM_METADATA_BYTES = 64 * 1024;

// Lone UTF-16 surrogates cannot be encoded as UTF-8, so they would not survive a round trip.
const wellFormed = (s: string) => !/\p{Cs}/u.test(s);

/** Text that survives UTF-8 encoding unchanged. */
const Text = z.string().refine(wellFormed, 'text contains a lone UTF-16 surrogate');

/** A positive planck amount: canonical decimal string in documents, bigint in code. */
export const PositivePlanckText = z.codec(
  z.string().regex(/^[1-9][0-9]{0,38}$/, 'amount must be a canonical positive decimal string'),
  z.bigint().positive().max(U128_MAX, 'amount exceeds u128'),
  { decode: (text) => BigInt(text), encode: (value) => value.toString() },
);

/** A price per second: positive and at most MAX_PRICE_PER_SECOND, so every total of a session fits u128. */
export const PricePerSecondText = z.codec(
  z.string().regex(/^[1-9][0-9]{0,38}$/, 'amount must be a canonical positive decimal string'),
  z.bigint().positive().max(MAX_PRICE_PER_SECOND, `price exceeds ${MAX_PRICE_PER_SECOND} planck per second`),
  { decode: (text) => BigInt(text), encode: (value) => value.toString() },
);

/** The payment terms a creator chose for the stream's viewers (contracts-client StreamPaymentTerms). */
export const StreamTerms = z.strictObject({
  /** Seconds of watching a viewer settles at a time. */
  settleEverySeconds: z.int().min(SETTLE_EVERY_BOUNDS.min).max(SETTLE_EVERY_BOUNDS.max),
  /** Each window is paid before it is served. */
  payAhead: z.boolean(),
});

/** What a stream charges in: the native token or an assets-pallet asset id (u32). */
export const StreamAsset = z.union([z.literal('native'), z.int().min(0).max(ASSET_ID_MAX)]);

/** An SS58-encoded 32-byte account id with a valid checksum (any network prefix). */
export const Ss58Address = z
  .string()
  .max(64)
  .refine((address) => {
    try {
      return decodeAddress(address).length === 32;
    } catch {
      return false;
    }
  }, 'not a valid SS58 account address');

/** A CID in its canonical string form (what CID.toString gives). */
export const CidString = z
  .string()
  .max(128)
  .refine((text) => {
    try {
      return CID.parse(text).toString() === text;
    } catch {
      return false;
    }
  }, 'not a canonical CID string');

/**
 * The stream metadata document (version 1) pinned to IPFS before a stream is announced on chain. `terms` came later as
 * an optional field, so earlier documents stay valid.
 */
export const streamMetadataSchema = z.strictObject({
  /** Document format version. */
  version: z.literal(1),
  /** Shown in the directory; trimmed, 1–200 characters. */
  title: Text.min(1)
    .max(200)
    .refine((s) => s.trim() === s, 'title must be trimmed'),
  /** Free text, up to 5,000 characters (may be empty). */
  description: Text.max(5000),
  /** What one watched second costs, in planck of `asset`. */
  pricePerSecond: PricePerSecondText,
  /** 'native' or an assets-pallet id. */
  asset: StreamAsset,
  /** The creator's account, who receives the payments. */
  creator: Ss58Address,
  /** CID of a thumbnail image pinned next to the document. */
  thumbnail: CidString.optional(),
  /** When the creator created the stream (ISO 8601, UTC). */
  createdAt: z.iso.datetime({ offset: false, local: false }),
  /** The creator's payment terms; absent (documents before terms, or no choice made): the server's defaults. */
  terms: StreamTerms.optional(),
});

/** A validated stream metadata document as code sees it (money as bigint). */
export type StreamMetadata = z.output<typeof streamMetadataSchema>;

/** The same document as stored on IPFS (money as decimal string). */
export type StreamMetadataDocument = z.input<typeof streamMetadataSchema>;
