// The earnings page's CSV export: one row per stream and asset, exact planck, each kind of earning on its own.
import type { StreamEarnings } from '../api/earnings.ts';
import type { TokenInfo } from '../chain/types.ts';
import { planckToTokens } from './amount.ts';
import { toCsv } from './csv.ts';

/**
 * The columns. The first six keep their meaning from before kinds existed (all kinds together); each kind's pending
 * and final planck follow, adding up to `pending_planck` and `final_planck`.
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
    ];
  });
  return toCsv(EARNINGS_CSV_HEADER, rows);
}
