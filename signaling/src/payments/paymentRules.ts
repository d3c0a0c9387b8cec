import {
  creatorExposureSeconds,
  type PaymentRules,
  type StreamPaymentTerms,
  viewerExposureSeconds,
} from '@persecond/contracts-client';
import type { PaymentRequiredReason, SessionExposure } from '../protocol.ts';

/** Why a viewer's media is held for payment (the `payment:required` reason). */
export type PaymentLag = PaymentRequiredReason;

/** What enforcement looks at for one viewer session. */
export interface PaymentPosition {
  /** Last tick sent. */
  seq: number;
  /** Tick of the newest voucher whose signature was verified (0: none yet). */
  verifiedSeq: number;
  /**
   * Tick of the newest voucher received that matches what was sent. After the first verified voucher, later ones are
   * verified in rounds, so verification latency never counts as lag; before it, only a verified voucher counts.
   */
  receivedSeq: number;
  /** Metered amount after tick `seq`. */
  owed: bigint;
  /** Settled on chain (pending + final). */
  settled: bigint;
  pricePerSecond: bigint;
  /** The newest voucher verified failed its signature check, and no valid one came since. */
  voucherInvalid: boolean;
  /**
   * Whole seconds the chain node could not be reached since the session was last current with its payments (or since
   * it was admitted): the viewer could not settle meanwhile, so its settlement window is that much longer. Default 0.
   */
  chainOutageSeconds?: number;
}

/** The node's bounds on the rules a session gets besides the creator's terms (viewers config). */
export interface NodePaymentWindows {
  VOUCHER_GRACE_SECONDS: number;
  PAYMENT_GRACE_SECONDS: number;
  MIN_PREPAY_SECONDS: number;
  VOUCHER_VERIFY_INTERVAL_MS: number;
  RECONNECT_GRACE_SECONDS: number;
}

/** The rules every session on this node gets whatever its stream's terms (`GET /v1/payment-terms` shows them). */
export type PaymentWindows = Omit<PaymentRules, keyof StreamPaymentTerms>;

/** The node's windows in the units of the rules. */
export function windowsOf(node: NodePaymentWindows): PaymentWindows {
  return {
    voucherGraceSeconds: node.VOUCHER_GRACE_SECONDS,
    paymentGraceSeconds: node.PAYMENT_GRACE_SECONDS,
    minPrepaySeconds: node.MIN_PREPAY_SECONDS,
    voucherVerifySeconds: Math.ceil(node.VOUCHER_VERIFY_INTERVAL_MS / 1000),
    reconnectGraceSeconds: node.RECONNECT_GRACE_SECONDS,
  };
}

/** The rules a session of a stream with `terms` is held to on this node. */
export function rulesFor(terms: StreamPaymentTerms, node: NodePaymentWindows): PaymentRules {
  const windows = windowsOf(node);
  return {
    settleEverySeconds: terms.settleEverySeconds,
    payAhead: terms.payAhead,
    ...windows,
    // Paying ahead leaves no unsettled seconds to tolerate.
    paymentGraceSeconds: terms.payAhead ? 0 : windows.paymentGraceSeconds,
    // The prepay must cover at least one window, or a pay-ahead viewer could not pay its first.
    minPrepaySeconds: Math.max(windows.minPrepaySeconds, terms.settleEverySeconds),
  };
}

/**
 * Each side's worst case for one session at `pricePerSecond` under `rules` (DESIGN §4a.3). `deliveredAheadSeconds`:
 * media a delivery mode hands out before it is metered (the HLS edge's per-session burst; 0 for WebRTC, metered as it
 * flows) — served before a hold can stop it, so the creator may lose that too (it is charged as debt).
 */
export function exposureOf(rules: PaymentRules, pricePerSecond: bigint, deliveredAheadSeconds = 0): SessionExposure {
  const creatorSeconds = creatorExposureSeconds(rules) + Math.ceil(deliveredAheadSeconds);
  return {
    creatorMax: (BigInt(creatorSeconds) * pricePerSecond).toString(),
    viewerMax: (BigInt(viewerExposureSeconds(rules)) * pricePerSecond).toString(),
  };
}

/**
 * Whether a viewer is behind, in order: its newest voucher's signature failed; no verified voucher yet after
 * `voucherGraceSeconds` ticks (the first voucher is verified at once, so an honest viewer is never held for it); more
 * than `voucherGraceSeconds` ticks without a matching voucher; and settlements: with pay-ahead the next second is not
 * paid yet (settled − owed < price), else more than `(settleEverySeconds + paymentGraceSeconds) × price` metered and
 * not settled — both windows extended by `chainOutageSeconds` (settlements the chain could not take are not late).
 * Undefined when payments are current.
 */
export function paymentLag(p: PaymentPosition, rules: PaymentRules): PaymentLag | undefined {
  if (p.voucherInvalid) return 'voucher-invalid';
  if (p.verifiedSeq === 0 && p.seq > rules.voucherGraceSeconds) return 'voucher-lag';
  if (p.seq - p.receivedSeq > rules.voucherGraceSeconds) return 'voucher-lag';
  const outage = BigInt(p.chainOutageSeconds ?? 0) * p.pricePerSecond;
  if (rules.payAhead) return p.settled + outage - p.owed < p.pricePerSecond ? 'settlement-lag' : undefined;
  const allowance = BigInt(rules.settleEverySeconds + rules.paymentGraceSeconds) * p.pricePerSecond + outage;
  return p.owed - p.settled > allowance ? 'settlement-lag' : undefined;
}
