import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LedgerError } from '../src/ledger/errors.ts';
import type { Ledger } from '../src/ledger/Ledger.ts';
import {
  closeLedgerOn,
  type LedgerBackend,
  opening,
  openLedgerOn,
  pgliteBackend,
  postgresBackend,
  tickOf,
} from './support/ledgerBackends.ts';

function batchSuite(makeBackend: () => Promise<LedgerBackend>): void {
  let backend: LedgerBackend;
  let ledger: Ledger;

  beforeAll(async () => {
    ({ backend, ledger } = await openLedgerOn(makeBackend));
  });
  afterAll(() => closeLedgerOn({ backend, ledger }));

  /** An open session metered up to tick `metered`. */
  const metered = async (seconds: number, price = 7n) => {
    const s = opening({ pricePerSecond: price });
    await ledger.openSession(s);
    await ledger.recordTicks([tickOf(s, seconds)]);
    return s;
  };

  it('raises, repeats, refuses above-metered and unknown-session vouchers, each answered on its own', async () => {
    const s = await metered(5);
    const raise = { sessionId: s.sessionId, seq: 3, owed: 21n };
    expect(await ledger.recordVouchers([raise])).toEqual(new Map([[raise, { raised: true, acknowledged: 21n }]]));
    // The same voucher again, and a lower one: no-ops answering the stored amount.
    const again = { ...raise };
    const lower = { sessionId: s.sessionId, seq: 2, owed: 14n };
    const repeated = await ledger.recordVouchers([again, lower]);
    expect(repeated.get(again)).toEqual({ raised: false, acknowledged: 21n });
    expect(repeated.get(lower)).toEqual({ raised: false, acknowledged: 21n });
    const above = { sessionId: s.sessionId, seq: 6, owed: 42n };
    const unknown = { sessionId: 'no-such-session', seq: 1, owed: 7n };
    const invalid = { sessionId: s.sessionId, seq: -1, owed: 7n };
    const refused = await ledger.recordVouchers([above, unknown, invalid]);
    expect(refused.get(above)).toMatchObject({ code: 'VOUCHER_EXCEEDS_OWED' });
    expect(refused.get(unknown)).toMatchObject({ code: 'SESSION_NOT_FOUND' });
    expect(refused.get(invalid)).toMatchObject({ code: 'INPUT_INVALID' });
    expect(await ledger.session(s.sessionId)).toMatchObject({ acknowledged: 21n, acknowledgedSeq: 3 });
    // The single-voucher form keeps its contract.
    await expect(ledger.recordVoucher(above)).rejects.toMatchObject({ code: 'VOUCHER_EXCEEDS_OWED' });
    expect(await ledger.recordVoucher({ sessionId: s.sessionId, seq: 5, owed: 35n })).toEqual({
      raised: true,
      acknowledged: 35n,
    });
  });

  it('writes a mixed batch of many sessions in one call, the highest in-bounds voucher of each winning', async () => {
    const a = await metered(10);
    const b = await metered(4, 3n);
    const c = await metered(2);
    await ledger.recordVoucher({ sessionId: c.sessionId, seq: 2, owed: 14n });
    const a4 = { sessionId: a.sessionId, seq: 4, owed: 28n };
    const a9 = { sessionId: a.sessionId, seq: 9, owed: 63n };
    const a7 = { sessionId: a.sessionId, seq: 7, owed: 49n };
    // b: a valid voucher and one above what was metered in the same batch; the valid one still counts.
    const b3 = { sessionId: b.sessionId, seq: 3, owed: 9n };
    const b6 = { sessionId: b.sessionId, seq: 6, owed: 18n };
    const c1 = { sessionId: c.sessionId, seq: 1, owed: 7n };
    const ghost = { sessionId: 'ghost-session', seq: 1, owed: 1n };
    const out = await ledger.recordVouchers([a4, b6, a9, ghost, b3, c1, a7]);
    expect(out.size).toBe(7);
    expect(out.get(a4)).toEqual({ raised: false, acknowledged: 63n });
    expect(out.get(a9)).toEqual({ raised: true, acknowledged: 63n });
    expect(out.get(a7)).toEqual({ raised: false, acknowledged: 63n });
    expect(out.get(b3)).toEqual({ raised: true, acknowledged: 9n });
    expect(out.get(b6)).toBeInstanceOf(LedgerError);
    expect(out.get(b6)).toMatchObject({ code: 'VOUCHER_EXCEEDS_OWED' });
    expect(out.get(c1)).toEqual({ raised: false, acknowledged: 14n });
    expect(out.get(ghost)).toMatchObject({ code: 'SESSION_NOT_FOUND' });
    expect(await ledger.session(a.sessionId)).toMatchObject({ acknowledged: 63n, acknowledgedSeq: 9 });
    expect(await ledger.session(b.sessionId)).toMatchObject({ acknowledged: 9n, acknowledgedSeq: 3 });
    expect(await ledger.session(c.sessionId)).toMatchObject({ acknowledged: 14n, acknowledgedSeq: 2 });
  });

  it("leaves a wallet's still-active sessions named in exceptActive out of its debt, in the query", async () => {
    const wallet = opening().wallet;
    const watching = opening({ wallet });
    const left = opening({ wallet });
    const closedToo = opening({ wallet });
    for (const s of [watching, left, closedToo]) {
      await ledger.openSession(s);
      await ledger.recordTicks([tickOf(s, 4)]);
      await ledger.recordVoucher({ sessionId: s.sessionId, seq: 4, owed: 28n });
    }
    await ledger.closeSession(left.sessionId);
    await ledger.closeSession(closedToo.sessionId);
    expect(await ledger.debtOf(wallet)).toMatchObject({ sessions: 3, debt: 84n });
    // A closed session named in exceptActive still counts: only watching ones are excused.
    expect(await ledger.debtOf(wallet, { exceptActive: [watching.sessionId, closedToo.sessionId] })).toMatchObject({
      sessions: 2,
      debt: 56n,
    });
    expect(
      await ledger.debtOf(wallet, { exceptSessionId: left.sessionId, exceptActive: [watching.sessionId] }),
    ).toMatchObject({ sessions: 1, debt: 28n });
    expect(await ledger.debtOf(wallet, { exceptActive: [] })).toMatchObject({ sessions: 3, debt: 84n });
  });
}

describe('voucher batches on PGlite', () => {
  batchSuite(async () => pgliteBackend());
});

describe.skipIf(!process.env.DATABASE_URL)('voucher batches on PostgreSQL', () => {
  batchSuite(() => postgresBackend(process.env.DATABASE_URL ?? ''));
});
