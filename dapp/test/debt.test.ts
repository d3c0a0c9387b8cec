// Splitting an old debt over the session accounts this browser still holds keys for.
import { describe, expect, it } from 'vitest';
import { mayOwe, planDebtPayments } from '../src/lib/payment/debt.ts';
import type { StoredSession } from '../src/lib/payment/storedSession.ts';

const stored = (id: string, createdAt: number, record?: { acknowledged: string; settled?: string }): StoredSession => ({
  sessionId: id,
  streamId: `stream-${id}`,
  wallet: '5Wallet',
  creator: '5Creator',
  asset: 'native',
  seedHex: `0x${'11'.repeat(32)}`,
  budget: '1000',
  createdAt,
  ...record,
});

describe('planDebtPayments', () => {
  it('pays the whole debt from the one session that can, whatever its record says', () => {
    const s = stored('a', 1);
    expect(planDebtPayments(70n, [s], [500n])).toEqual([{ session: s, amount: 70n }]);
    const recorded = stored('b', 1, { acknowledged: '100', settled: '20' });
    // The record is an upper bound (vouchers signed, settlements seen): the server's figure caps it.
    expect(planDebtPayments(70n, [recorded], [500n])).toEqual([{ session: recorded, amount: 70n }]);
  });

  it('splits by what each session signed for and did not see settled, oldest first', () => {
    const old = stored('old', 1, { acknowledged: '50', settled: '10' });
    const newer = stored('new', 2, { acknowledged: '30' });
    const funded = stored('funded', 3, { acknowledged: '0' });
    const plan = planDebtPayments(70n, [funded, newer, old], [900n, 900n, 900n]);
    expect(plan).toEqual([
      { session: old, amount: 40n },
      { session: newer, amount: 30n },
    ]);
  });

  it('never pays more than an account holds, nor more than the debt in all', () => {
    const a = stored('a', 1, { acknowledged: '100' });
    const b = stored('b', 2);
    const plan = planDebtPayments(150n, [a, b], [60n, 40n]);
    expect(plan).toEqual([
      { session: a, amount: 60n },
      { session: b, amount: 40n },
    ]);
    expect(planDebtPayments(0n, [a, b], [60n, 40n])).toEqual([]);
    expect(planDebtPayments(10n, [], [])).toEqual([]);
  });
});

describe('mayOwe', () => {
  it('tells the sessions that may owe from those that cannot', () => {
    expect(mayOwe(stored('legacy', 1))).toBe(true);
    expect(mayOwe(stored('owes', 1, { acknowledged: '30', settled: '10' }))).toBe(true);
    expect(mayOwe(stored('paid', 1, { acknowledged: '30', settled: '30' }))).toBe(false);
    expect(mayOwe(stored('unwatched', 1, { acknowledged: '0', settled: '0' }))).toBe(false);
  });
});
