// A creator's earnings from the indexer API (`GET /v1/creators/:address/earnings`).
import { Planck } from '@persecond/signaling/protocol';
import { z } from 'zod';
import type { AssetRef } from '../chain/types.ts';
import { getJson } from './http.ts';

/** `native` or an asset id, as the indexer writes it ("native", "1984" or 1984). */
const AssetText = z
  .union([z.literal('native'), z.number().int().min(0), z.string().regex(/^\d{1,10}$/)])
  .transform((a): AssetRef => (a === 'native' ? 'native' : Number(a)));

const Amounts = z.object({ asset: AssetText, pending: Planck, final: Planck });
const StreamAmounts = Amounts.extend({ streamId: z.string() });

const EarningsSchema = z.object({
  creator: z.string(),
  bucket: z.enum(['hour', 'day']),
  totals: z.array(Amounts),
  streams: z.array(StreamAmounts),
  buckets: z.array(
    z.object({ start: z.iso.datetime({ offset: true }), totals: z.array(Amounts), streams: z.array(StreamAmounts) }),
  ),
});

/** Earnings per time bucket and per stream, pending (in a block) and final (finalized), in planck. */
export type Earnings = z.infer<typeof EarningsSchema>;

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
