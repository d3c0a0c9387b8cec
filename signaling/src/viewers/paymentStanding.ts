/**
 * Why a viewer's media is paused: acknowledgements or settlements fell behind, or its newest voucher's signature
 * failed verification.
 */
export type PaymentLag = 'voucher-lag' | 'settlement-lag' | 'voucher-invalid';

/** What enforcement looks at for one viewer session. */
export interface PaymentPosition {
  /** Last tick sent. */
  seq: number;
  /**
   * Tick of the newest voucher received that matches what was sent (its signature is verified in rounds, so
   * verification latency never counts as lag).
   */
  acknowledgedSeq: number;
  /** Metered amount after tick `seq`. */
  owed: bigint;
  /** Settled on chain (pending + final). */
  settled: bigint;
  pricePerSecond: bigint;
  /** The newest voucher verified failed its signature check, and no valid one came since. */
  voucherInvalid?: boolean;
}

/** The grace windows of DESIGN.md §4. */
export interface PaymentWindows {
  voucherGraceSeconds: number;
  settleEverySeconds: number;
  paymentGraceSeconds: number;
}

/**
 * Whether a viewer is behind: a newest voucher with a bad signature, more than `voucherGraceSeconds` ticks
 * unacknowledged, or more than `(settleEverySeconds + paymentGraceSeconds) × price` metered and not settled.
 * Undefined when payments are current.
 */
export function paymentLag(p: PaymentPosition, w: PaymentWindows): PaymentLag | undefined {
  if (p.voucherInvalid) return 'voucher-invalid';
  if (p.seq - p.acknowledgedSeq > w.voucherGraceSeconds) return 'voucher-lag';
  const allowance = BigInt(w.settleEverySeconds + w.paymentGraceSeconds) * p.pricePerSecond;
  if (p.owed - p.settled > allowance) return 'settlement-lag';
  return undefined;
}
