import { createSessionKey, type SessionKey, signVoucher, VoucherVerifier } from '@persecond/contracts-client';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Ledger, type SessionOpening, type VoucherRecord } from '../src/ledger/Ledger.ts';
import {
  MAX_ROUND_PERIOD_MS,
  type SignedVoucher,
  VERIFY_SLICE,
  VoucherRounds,
  type VoucherRoundsOptions,
} from '../src/payments/VoucherRounds.ts';
import { opening, pgliteBackend, tickOf } from './support/ledgerBackends.ts';

const GENESIS = `0x${'12'.repeat(32)}`;
const STREAM = 'stream-ledger-batch';
/** Long enough that only flush()/close() run rounds, unless a test waits for the timer. */
const NEVER_MS = 600_000;

describe('voucher rounds: the newest voucher per session, verified with ed25519 and written in one batch', () => {
  const backend = pgliteBackend();
  let ledger: Ledger;
  const verifier = new VoucherVerifier();
  const keys = new Map<string, SessionKey>();

  beforeAll(async () => {
    await cryptoWaitReady();
    ledger = await Ledger.open(backend.config);
  });

  afterAll(async () => {
    await ledger?.close();
    await backend.dispose();
  });

  /** An open session metered up to `seconds`, with its own session key. */
  const metered = async (seconds: number): Promise<SessionOpening> => {
    const key = createSessionKey(42);
    const s = opening({ sessionAccount: key.address });
    keys.set(s.sessionId, key);
    await ledger.openSession(s);
    await ledger.recordTicks([tickOf(s, seconds)]);
    return s;
  };

  const voucherOf = (s: SessionOpening, seq: number, key = keys.get(s.sessionId) as SessionKey): SignedVoucher => {
    const owed = BigInt(seq) * s.pricePerSecond;
    const signature = signVoucher(key, { genesisHash: GENESIS, streamId: STREAM, sessionId: s.sessionId, seq, owed });
    return { seq, owed, signature };
  };

  /** Rounds over the real ledger and verifier, recording what they verified, wrote and reported. */
  const roundsWith = (intervalMs: number, write?: VoucherRoundsOptions['write'], timer?: boolean) => {
    const seen = {
      verified: [] as string[],
      writes: [] as number[],
      ok: [] as { sessionId: string; seq: number; acknowledged: bigint }[],
      invalid: [] as { sessionId: string; seq: number }[],
      errors: [] as unknown[],
    };
    const rounds = new VoucherRounds({
      intervalMs,
      verify: (sessionId, v) => {
        seen.verified.push(sessionId);
        const account = keys.get(sessionId)?.address ?? '';
        return verifier.isValid(
          { genesisHash: GENESIS, streamId: STREAM, sessionId, seq: v.seq, owed: v.owed },
          v.signature,
          account,
        );
      },
      write:
        write ??
        ((batch: readonly VoucherRecord[]) => {
          seen.writes.push(batch.length);
          return ledger.recordVouchers(batch);
        }),
      onVerified: (sessionId, v, acknowledged) => seen.ok.push({ sessionId, seq: v.seq, acknowledged }),
      onInvalid: (sessionId, v) => seen.invalid.push({ sessionId, seq: v.seq }),
      onError: (err) => seen.errors.push(err),
      ...(timer === undefined ? {} : { timer }),
    });
    return { rounds, seen };
  };

  it('verifies only the newest voucher of each session per round and writes them in one statement', async () => {
    const sessions = await Promise.all(Array.from({ length: 30 }, () => metered(10)));
    const { rounds, seen } = roundsWith(200);
    try {
      // Three seconds' worth of vouchers each, out of order for one session: the highest seq stays. Signed first and
      // received in one go: the sessions fall due together.
      const first = sessions[0] as SessionOpening;
      const vouchers = [1, 2, 3].flatMap((seq) => sessions.map((s) => [s.sessionId, voucherOf(s, seq)] as const));
      vouchers.push([first.sessionId, voucherOf(first, 2)]);
      for (const [sessionId, v] of vouchers) rounds.receive(sessionId, v);
      expect(rounds.pending).toBe(30);
      expect(rounds.pendingOf(first.sessionId)?.seq).toBe(3);
      await expect.poll(() => seen.ok.length, { timeout: 5_000, interval: 20 }).toBe(30);
      expect(seen.verified).toHaveLength(30);
      expect(seen.writes).toEqual([30]);
      expect(seen.invalid).toEqual([]);
      for (const o of seen.ok) expect(o).toMatchObject({ seq: 3, acknowledged: 21n });
      for (const s of sessions) {
        expect(await ledger.session(s.sessionId)).toMatchObject({ acknowledged: 21n, acknowledgedSeq: 3 });
      }
      expect(rounds.pending).toBe(0);
    } finally {
      await rounds.close();
    }
  });

  it('verifies each session at its own phase, an interval after its voucher came, not all sessions at once', async () => {
    const early = await metered(10);
    const late = await metered(10);
    // Rounds every MAX_ROUND_PERIOD_MS (1 s); the late session falls due 1.5 s after the early one, a round later.
    const { rounds, seen } = roundsWith(3 * MAX_ROUND_PERIOD_MS);
    try {
      rounds.receive(early.sessionId, voucherOf(early, 1));
      await new Promise((r) => setTimeout(r, 1.5 * MAX_ROUND_PERIOD_MS));
      rounds.receive(late.sessionId, voucherOf(late, 1));
      // A newer voucher does not postpone a session's due time: the early one is verified at its newest.
      rounds.receive(early.sessionId, voucherOf(early, 2));
      await expect.poll(() => seen.ok.length, { timeout: 5_000, interval: 20 }).toBeGreaterThan(0);
      expect(seen.ok).toEqual([{ sessionId: early.sessionId, seq: 2, acknowledged: 14n }]);
      expect(seen.verified).toEqual([early.sessionId]);
      expect(rounds.pendingOf(late.sessionId)?.seq).toBe(1);
      await expect.poll(() => seen.ok.length, { timeout: 5_000, interval: 20 }).toBe(2);
      expect(seen.ok[1]).toMatchObject({ sessionId: late.sessionId, seq: 1 });
      expect(seen.writes).toEqual([1, 1]);
    } finally {
      await rounds.close();
    }
  });

  it('without a timer of its own, verifies only when its owner runs the due round, and only the sessions due', async () => {
    const due = await metered(10);
    const notYet = await metered(10);
    const { rounds, seen } = roundsWith(300, undefined, false);
    try {
      rounds.receive(due.sessionId, voucherOf(due, 1));
      await new Promise((r) => setTimeout(r, 3 * MAX_ROUND_PERIOD_MS));
      // Well past its due time, and nobody ran a round.
      expect(seen.verified).toEqual([]);
      rounds.receive(notYet.sessionId, voucherOf(notYet, 1));
      await rounds.runDue();
      expect(seen.ok).toEqual([{ sessionId: due.sessionId, seq: 1, acknowledged: 7n }]);
      expect(rounds.pendingOf(notYet.sessionId)?.seq).toBe(1);
      await new Promise((r) => setTimeout(r, 400));
      await rounds.runDue();
      expect(seen.ok.map((o) => o.sessionId)).toEqual([due.sessionId, notYet.sessionId]);
      expect(seen.writes).toEqual([1, 1]);
    } finally {
      await rounds.close();
    }
  });

  it('reports a bad signature before the write, keeps the last verified amount, and accepts a valid newer one', async () => {
    const honest = await metered(10);
    const cheat = await metered(10);
    const { rounds, seen } = roundsWith(NEVER_MS);
    try {
      rounds.receive(honest.sessionId, voucherOf(honest, 2));
      rounds.receive(cheat.sessionId, voucherOf(cheat, 2));
      await rounds.flush(cheat.sessionId);
      expect(seen.ok.map((o) => o.sessionId)).toEqual([cheat.sessionId]);
      // flush() took only the flushed session; the other waits for a round.
      expect(rounds.pendingOf(honest.sessionId)?.seq).toBe(2);

      // Signed with another key: invalid; the honest one's voucher is written in the same round.
      rounds.receive(cheat.sessionId, voucherOf(cheat, 5, createSessionKey(42)));
      const round = Promise.all([rounds.flush(cheat.sessionId), rounds.flush(honest.sessionId)]);
      await round;
      expect(seen.invalid).toEqual([{ sessionId: cheat.sessionId, seq: 5 }]);
      expect(seen.writes).toEqual([1, 1]);
      expect(await ledger.session(cheat.sessionId)).toMatchObject({ acknowledged: 14n, acknowledgedSeq: 2 });
      expect(await ledger.session(honest.sessionId)).toMatchObject({ acknowledged: 14n, acknowledgedSeq: 2 });

      // A valid newest voucher afterwards counts.
      rounds.receive(cheat.sessionId, voucherOf(cheat, 6));
      await rounds.flush(cheat.sessionId);
      expect(seen.ok.at(-1)).toEqual({ sessionId: cheat.sessionId, seq: 6, acknowledged: 42n });
      expect(await ledger.session(cheat.sessionId)).toMatchObject({ acknowledged: 42n, acknowledgedSeq: 6 });
      // Nothing pending: flush settles at once.
      await rounds.flush(cheat.sessionId);
      expect(seen.writes).toEqual([1, 1, 1]);
    } finally {
      await rounds.close();
    }
  });

  it('writes sessions flushed in one turn together and every waiting voucher on close (twice is fine)', async () => {
    const sessions = await Promise.all(Array.from({ length: 5 }, () => metered(8)));
    const { rounds, seen } = roundsWith(NEVER_MS);
    for (const s of sessions) rounds.receive(s.sessionId, voucherOf(s, 4));
    await Promise.all(sessions.slice(0, 3).map((s) => rounds.flush(s.sessionId)));
    expect(seen.writes).toEqual([3]);
    for (const s of sessions) rounds.receive(s.sessionId, voucherOf(s, 8));
    await rounds.close();
    await rounds.close();
    expect(seen.writes).toEqual([3, 5]);
    for (const s of sessions) {
      expect(await ledger.session(s.sessionId)).toMatchObject({ acknowledged: 56n, acknowledgedSeq: 8 });
    }
  });

  it('keeps the vouchers of a failed write for the next round, and reports the failure', async () => {
    const s = await metered(6);
    let fail = true;
    const { rounds, seen } = roundsWith(NEVER_MS, (batch) => {
      if (fail) return Promise.reject(new Error('database unavailable'));
      return ledger.recordVouchers(batch);
    });
    rounds.receive(s.sessionId, voucherOf(s, 3));
    await rounds.flush(s.sessionId);
    expect(seen.errors).toHaveLength(1);
    expect(seen.ok).toEqual([]);
    expect(rounds.pendingOf(s.sessionId)?.seq).toBe(3);
    fail = false;
    await rounds.close();
    expect(seen.ok).toEqual([{ sessionId: s.sessionId, seq: 3, acknowledged: 21n }]);
    expect(await ledger.session(s.sessionId)).toMatchObject({ acknowledged: 21n, acknowledgedSeq: 3 });
  });

  it('verifies a flushed session once per interval afterwards: the flushed voucher leaves no second chain of rounds', async () => {
    const key = createSessionKey(42);
    const s = opening({ sessionAccount: key.address });
    keys.set(s.sessionId, key);
    const interval = 3 * MAX_ROUND_PERIOD_MS;
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'performance'] });
    try {
      // Only the scheduling is looked at: the writer answers every voucher as written.
      const { rounds, seen } = roundsWith(
        interval,
        async (batch) => new Map(batch.map((r) => [r, { raised: true, acknowledged: r.owed }])),
      );
      rounds.receive(s.sessionId, voucherOf(s, 1));
      await rounds.flush(s.sessionId);
      expect(seen.verified).toHaveLength(1);
      // The next voucher comes half an interval later: due an interval after it, not when the flushed one was due.
      await vi.advanceTimersByTimeAsync(interval / 2);
      rounds.receive(s.sessionId, voucherOf(s, 2));
      await vi.advanceTimersByTimeAsync(interval / 2 + MAX_ROUND_PERIOD_MS);
      expect(seen.verified).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(interval);
      expect(seen.verified).toHaveLength(2);
      // From then on one verification per interval (a voucher a second, as a viewer acknowledges).
      for (let t = 0; t < 10 * interval; t += MAX_ROUND_PERIOD_MS) {
        rounds.receive(s.sessionId, voucherOf(s, 3 + t / MAX_ROUND_PERIOD_MS));
        await vi.advanceTimersByTimeAsync(MAX_ROUND_PERIOD_MS);
      }
      expect(seen.verified.length - 2).toBeLessThanOrEqual(10);
      await rounds.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('yields the event loop between slices of verifications in a large round', async () => {
    const count = VERIFY_SLICE * 2 + 50;
    const sessions = Array.from({ length: count }, () => {
      const key = createSessionKey(42);
      const s = opening({ sessionAccount: key.address });
      keys.set(s.sessionId, key);
      return s;
    });
    /** Verifications done when a callback queued at the round's start ran. */
    let doneWhenOtherWorkRan = -1;
    // Only the slicing is looked at here: the writer answers every voucher as written (no ledger rows needed).
    const { rounds, seen } = roundsWith(
      NEVER_MS,
      async (batch) => new Map(batch.map((r) => [r, { raised: true, acknowledged: r.owed }])),
    );
    for (const s of sessions) rounds.receive(s.sessionId, voucherOf(s, 1));
    const flushed = Promise.all(sessions.map((s) => rounds.flush(s.sessionId)));
    setImmediate(() =>
      setImmediate(() => {
        doneWhenOtherWorkRan = seen.verified.length;
      }),
    );
    await flushed;
    expect(seen.ok).toHaveLength(count);
    expect(doneWhenOtherWorkRan).toBeGreaterThan(0);
    expect(doneWhenOtherWorkRan).toBeLessThan(count);
    await rounds.close();
  });
});
