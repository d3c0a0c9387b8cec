// A creator's earnings from the indexer API (`GET /v1/creators/:address/earnings`).
import { Planck } from '@persecond/signaling/protocol';
import { z } from 'zod';
import type { AssetRef } from '../chain/types.ts';
import { getJson } from './http.ts';

/** `native` or an asset id, as the indexer writes it ("native", "1984" or 1984). */
const AssetText = z
  .union([z.literal('native'), z.number().int().min(0), z.string().regex(/^\d{1,10}$/)])
  .transform((a): AssetRef => (a === 'native' ? 'native' : Number(a)));

const PendingFinal = z.strictObject({ pending: Planck, final: Planck });

/**
 * The kinds of earning the page shows on their own: per-second payments while watching live, per-second payments
 * while watching a replay, and tips.
 */
export const EARNING_KINDS = ['live', 'replay', 'tip'] as const;

/** One kind of earning. */
export type EarningKind = (typeof EARNING_KINDS)[number];

// Strict: a kind this page does not know would be left out of its columns while counted in the totals.
const Kinds = z.strictObject({ live: PendingFinal, replay: PendingFinal, tip: PendingFinal });

const AmountsShape = { asset: AssetText, pending: Planck, final: Planck, kinds: Kinds };

/** The indexer's promise: the kinds add up to the entry. Figures that do not would contradict each other on screen. */
function kindsAddUp(a: { pending: string; final: string; kinds: z.infer<typeof Kinds> }): boolean {
  const sum = (status: 'pending' | 'final') => EARNING_KINDS.reduce((s, k) => s + BigInt(a.kinds[k][status]), 0n);
  return sum('pending') === BigInt(a.pending) && sum('final') === BigInt(a.final);
}
const ADD_UP = { message: 'the kinds of earning do not add up to the total', path: ['kinds'] };

const Amounts = z.object(AmountsShape).refine(kindsAddUp, ADD_UP);
const StreamAmounts = z.object({ ...AmountsShape, streamId: z.string() }).refine(kindsAddUp, ADD_UP);
/** A stream's entry over the whole period also names it: its title from its metadata (null until fetched). */
const TitledStreamAmounts = z
  .object({ ...AmountsShape, streamId: z.string(), title: z.string().max(500).nullable() })
  .refine(kindsAddUp, ADD_UP);

/** The indexer's answer, checked at the trust boundary. */
export const EarningsSchema = z.object({
  creator: z.string(),
  bucket: z.enum(['hour', 'day']),
  totals: z.array(Amounts),
  streams: z.array(TitledStreamAmounts),
  buckets: z.array(
    z.object({ start: z.iso.datetime({ offset: true }), totals: z.array(Amounts), streams: z.array(StreamAmounts) }),
  ),
});

/**
 * Earnings per time bucket and per stream, pending (in a block) and final (finalized), in planck: all kinds together
 * and each kind (`live`, `replay`, `tip`) on its own.
 */
export type Earnings = z.infer<typeof EarningsSchema>;

/** One stream's earnings in one asset. */
export type StreamEarnings = Earnings['streams'][number];

/** Bucket size of the chart. */
export type Bucket = 'hour' | 'day';

/** Reads a creator's earnings between `from` and `to` from the indexer API at `baseUrl` (or the dapp's `/indexer`). */
export function getEarnings(
  baseUrl: string,
  creator: string,
  q: { bucket: Bucket; from: Date; to: Date },
  f: typeof fetch = fetch,
): Promise<Earnings> {
  const params = new URLSearchParams({ bucket: q.bucket, from: q.from.toISOString(), to: q.to.toISOString() });
  return getJson(`${baseUrl}/v1/creators/${encodeURIComponent(creator)}/earnings?${params}`, EarningsSchema, {
    fetch: f,
  });
}

const BlockId = z.object({ number: z.number().int().min(0), hash: z.string() }).nullable();

/** Where the indexer stands (`GET /v1/status`): the last block written and the last marked final. */
export const IndexerHeadsSchema = z.object({ indexedHead: BlockId, finalizedHead: BlockId });

/** The indexer's heads: what changes whenever earnings may have (a block written, or one turned final). */
export type IndexerHeads = z.infer<typeof IndexerHeadsSchema>;

/** Reads the indexer's heads from `GET /v1/status` at `baseUrl` (or the dapp's `/indexer`). */
export function getIndexerHeads(baseUrl: string, f: typeof fetch = fetch): Promise<IndexerHeads> {
  return getJson(`${baseUrl}/v1/status`, IndexerHeadsSchema, { fetch: f });
}
