// Paying off a debt left by a crashed tab: the server tells the wallet's total debt; this browser's stored sessions
// tell which session accounts can pay it and, from the vouchers they signed, roughly how much each owes.
import type { StoredSession } from './storedSession.ts';

/** One payment towards an old debt: from `session`'s account to its stream's creator. */
export interface DebtPayment {
  session: StoredSession;
  amount: bigint;
}

/** Whether a stored session may owe something: it signed for more than it saw settled, or keeps no record of it. */
export function mayOwe(s: StoredSession): boolean {
  return s.acknowledged === undefined || BigInt(s.acknowledged) > BigInt(s.settled ?? '0');
}

// biome-ignore lint/complexity/useMathMinMax: bigints, which Math.min does not take
const min = (...xs: bigint[]): bigint => xs.reduce((a, b) => (b < a ? b : a));

/**
 * Splits `debt` over `stored` sessions (oldest first), `held[i]` being what session i's account can spend. Sessions
 * whose vouchers this browser remembers pay at most what they signed for and did not see settled (an upper bound of
 * what the server counts); then sessions without that record (stored by an older version of the app) pay the rest. Never more than `debt` in all, never more
 * than an account holds.
 */
export function planDebtPayments(
  debt: bigint,
  stored: readonly StoredSession[],
  held: readonly bigint[],
): DebtPayment[] {
  const order = stored
    .map((session, i) => ({ session, held: held[i] ?? 0n }))
    .sort((a, b) => a.session.createdAt - b.session.createdAt);
  const paid = new Map<StoredSession, bigint>();
  let remaining = debt;
  const pay = (session: StoredSession, cap: bigint, available: bigint) => {
    const amount = min(cap, remaining, available);
    if (amount <= 0n) return;
    paid.set(session, (paid.get(session) ?? 0n) + amount);
    remaining -= amount;
  };
  for (const { session, held: h } of order) {
    if (session.acknowledged === undefined) continue;
    const owes = BigInt(session.acknowledged) - BigInt(session.settled ?? '0');
    pay(session, owes, h);
  }
  for (const { session, held: h } of order) {
    if (session.acknowledged !== undefined) continue;
    pay(session, remaining, h - (paid.get(session) ?? 0n));
  }
  return order
    .filter(({ session }) => paid.has(session))
    .map(({ session }) => ({ session, amount: paid.get(session) ?? 0n }));
}
