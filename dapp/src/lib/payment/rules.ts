// The payment rules a watch session follows: the server states them in the admission (`rules`, `exposure`); the dapp
// follows them and assumes none of its own. Before admission only the stream's terms are known (GET /v1/streams/:id).
import {
  type PaymentRules,
  SETTLE_EVERY_BOUNDS,
  type SessionKind,
  type StreamPaymentTerms,
  viewerExposureSeconds,
} from '@persecond/contracts-client/browser';
import { Planck, type SessionExposure } from '@persecond/signaling/protocol';
import { z } from 'zod';

const Seconds = z.number().int().min(0).max(86_400);

/** The admission's rules, checked at the boundary (a malformed figure must not steer payments). */
export const RulesSchema = z.object({
  settleEverySeconds: z.number().int().min(SETTLE_EVERY_BOUNDS.min).max(SETTLE_EVERY_BOUNDS.max),
  payAhead: z.boolean(),
  voucherGraceSeconds: Seconds,
  paymentGraceSeconds: Seconds,
  minPrepaySeconds: Seconds,
  voucherVerifySeconds: Seconds,
  reconnectGraceSeconds: Seconds,
}) satisfies z.ZodType<PaymentRules>;

/** Each side's worst case for one session (planck strings). */
export const ExposureSchema = z.object({ creatorMax: Planck, viewerMax: Planck }) satisfies z.ZodType<SessionExposure>;

/** What a session settles by: the interval and pay-ahead (the part of the rules the client acts on). */
export type SettleRules = Pick<PaymentRules, 'settleEverySeconds' | 'payAhead'>;

/** The rules and each side's worst case a session was admitted under. */
export interface AdmittedRules {
  rules: SettleRules;
  /** The viewer's worst case in planck: paid and not watched when it stops (one window with pay-ahead, else 0). */
  viewerMax: bigint;
  /** The creator's worst case in planck, when the server stated it. */
  creatorMax?: bigint;
  /** What the session pays for: a replay admission's (`mode: 'replay'`) settlements carry `ps1:replay`. */
  kind: SessionKind;
}

/**
 * The rules of an admission. A server that states none (one that predates rules on the wire) is followed by the
 * stream's published terms; without those either, the session settles at the shortest interval any server allows,
 * in arrears: never later than a server expects, at the cost of more fees.
 */
export function admittedRules(
  admission: { rules?: unknown; exposure?: unknown; mode?: string },
  terms: StreamPaymentTerms | undefined,
  pricePerSecond: bigint,
): AdmittedRules {
  const rules = RulesSchema.safeParse(admission.rules);
  const exposure = ExposureSchema.safeParse(admission.exposure);
  const settle: SettleRules = rules.success
    ? { settleEverySeconds: rules.data.settleEverySeconds, payAhead: rules.data.payAhead }
    : (terms ?? { settleEverySeconds: SETTLE_EVERY_BOUNDS.min, payAhead: false });
  const kind: SessionKind = admission.mode === 'replay' ? 'replay' : 'live';
  return exposure.success
    ? {
        rules: settle,
        viewerMax: BigInt(exposure.data.viewerMax),
        creatorMax: BigInt(exposure.data.creatorMax),
        kind,
      }
    : { rules: settle, viewerMax: BigInt(viewerExposureSeconds(settle)) * pricePerSecond, kind };
}

/**
 * Seconds of watching between settlements, which the funding sizes fees for: the stream's interval in arrears, half of
 * it with pay-ahead (topped up to one window ahead once less than half is left), else half the shortest allowed.
 */
export function fundingInterval(terms: StreamPaymentTerms | undefined): number {
  if (!terms) return Math.floor(SETTLE_EVERY_BOUNDS.min / 2) || 1;
  return terms.payAhead ? Math.max(1, Math.floor(terms.settleEverySeconds / 2)) : terms.settleEverySeconds;
}

/**
 * What a leaving viewer pays in all: what the server metered (its ledger counts anything less as debt), but never for
 * media this page did not see (`seen`: seconds the player showed × price) beyond what it acknowledged — except the
 * voucher grace (`grace`: voucherGraceSeconds + 1 seconds × price), which the server may meter ahead of any voucher by
 * the rules the viewer was admitted under: a player a second or two behind the ticks still leaves owing nothing.
 */
export function finalOwed(p: { acknowledged: bigint; metered: bigint; seen: bigint; grace?: bigint }): bigint {
  if (p.metered <= p.acknowledged) return p.acknowledged;
  // biome-ignore lint/complexity/useMathMinMax: Math.max does not take bigint
  const shown = p.seen > p.acknowledged ? p.seen : p.acknowledged;
  const bound = shown + (p.grace ?? 0n);
  if (p.metered <= bound) return p.metered;
  return shown;
}
