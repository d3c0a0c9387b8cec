// The earnings page's CSV export: one row per stream and asset, as the indexer API answers them (`streams`), exact
// planck, each kind of earning on its own.
import type { StreamEarnings } from '../api/earnings.ts';
import type { TokenInfo } from '../chain/types.ts';
import { planckToTokens } from './amount.ts';
import { toCsv } from './csv.ts';

/**
 * The columns. The first six keep their meaning from before kinds existed (all kinds together); each kind's pending
 * and final planck follow (live and tips, then replay, which came later), adding up to `pending_planck` and
 * `final_planck`; then the stream's title (empty while its metadata is not fetched).
 */
export const EARNINGS_CSV_HEADER = [
  'stream_id',
  'asset',
  'final_planck',
  'pending_planck',
  'final_tokens',
  'symbol',
  'live_pending_planck',
  'live_final_planck',
  'tip_pending_planck',
  'tip_final_planck',
  'replay_pending_planck',
  'replay_final_planck',
  'title',
] as const;

/** Renders `streams` as CSV; `tokens` (by asset text) gives the token columns, left empty for an unknown asset. */
export function earningsCsv(streams: readonly StreamEarnings[], tokens: Readonly<Record<string, TokenInfo>>): string {
  const rows = streams.map((s) => {
    const t = tokens[String(s.asset)];
    return [
      s.streamId,
      String(s.asset),
      s.final,
      s.pending,
      t ? planckToTokens(BigInt(s.final), t.decimals) : '',
      t?.symbol ?? '',
      s.kinds.live.pending,
      s.kinds.live.final,
      s.kinds.tip.pending,
      s.kinds.tip.final,
      s.kinds.replay.pending,
      s.kinds.replay.final,
      s.title ?? '',
    ];
  });
  return toCsv(EARNINGS_CSV_HEADER, rows);
}
