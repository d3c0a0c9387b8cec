// The payment terms a stream sells under and the limits every amount is checked against where it enters, shared by
// signaling (admission, enforcement, stream creation), the dapp (studio and watch page) and the indexer.
import { z } from 'zod';

/** Largest price per second a stream may ask (planck): 10^24 keeps every realistic total far inside u128. */
export const MAX_PRICE_PER_SECOND = 10n ** 24n;

/**
 * Longest a session may be metered (10 years of seconds): with MAX_PRICE_PER_SECOND its owed amount stays below
 * 3.2 × 10^32, far inside u128 and numeric(39,0).
 */
export const MAX_SESSION_SECONDS = 315_360_000;

/** Bounds of the settle interval a creator may choose (seconds). */
export const SETTLE_EVERY_BOUNDS = { min: 5, max: 120 } as const;

/** What the creator chooses for a stream's viewers: how often they settle, and whether they pay before watching. */
export interface StreamPaymentTerms {
  /** Seconds of watching a viewer settles at a time. */
  settleEverySeconds: number;
  /** The viewer settles each window before it is served: the creator is never owed, the viewer may lose one window. */
  payAhead: boolean;
}

/** Zod schema of the terms as a client sends them at stream creation (defaults filled in by the server). */
export const StreamPaymentTermsInput = z.object({
  settleEverySeconds: z.number().int().min(SETTLE_EVERY_BOUNDS.min).max(SETTLE_EVERY_BOUNDS.max).optional(),
  payAhead: z.boolean().optional(),
});

/** The rules one viewer session is held to; the admission carries them and the client follows them. */
export interface PaymentRules extends StreamPaymentTerms {
  /** Ticks a viewer may leave without a voucher before its media is held. */
  voucherGraceSeconds: number;
  /** Unsettled seconds tolerated beyond `settleEverySeconds` (0 with pay-ahead). */
  paymentGraceSeconds: number;
  /** Seconds of watching the session account must hold at admission (plus fees). */
  minPrepaySeconds: number;
  /** How often a session's newest voucher signature is checked after its first (which is checked at once). */
  voucherVerifySeconds: number;
  /** How long a disconnected session waits for its viewer to come back. */
  reconnectGraceSeconds: number;
}

/**
 * Seconds a viewer who never pays can watch before its media is held: the settle window and its grace, plus the tick
 * that shows it (0 with pay-ahead, where every second is paid before it is served).
 */
export function creatorExposureSeconds(
  rules: Pick<PaymentRules, 'settleEverySeconds' | 'paymentGraceSeconds' | 'payAhead'>,
): number {
  return rules.payAhead ? 0 : rules.settleEverySeconds + rules.paymentGraceSeconds + 1;
}

/** Seconds a viewer may have paid and not watched when it stops: one window with pay-ahead, else none. */
export function viewerExposureSeconds(rules: Pick<PaymentRules, 'settleEverySeconds' | 'payAhead'>): number {
  return rules.payAhead ? rules.settleEverySeconds : 0;
}
