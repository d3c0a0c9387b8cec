import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_PRICE_PER_SECOND, MAX_SESSION_SECONDS, U128_MAX } from '@persecond/contracts-client';
import { cryptoWaitReady, encodeAddress } from '@polkadot/util-crypto';
import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLedgerDatabase } from '../src/ledger/database.ts';
import { Ledger, type SessionOpening, type SettlementCreditInput } from '../src/ledger/Ledger.ts';
import {
  capturedLog,
  closeLedgerOn,
  type LedgerBackend,
  openLedgerOn,
  pgliteBackend,
  postgresBackend,
} from './support/ledgerBackends.ts';

/** A distinct, valid account for each call. */
let accounts = 0;
function account(prefix = 42): string {
  const key = new Uint8Array(32);
  new DataView(key.buffer).setUint32(0, ++accounts);
  key.set(randomBytes(8), 8);
  return encodeAddress(key, prefix);
}

let sessions = 0;
function opening(overrides: Partial<SessionOpening> = {}): SessionOpening {
  sessions++;
  return {
    sessionId: `sess-${String(sessions).padStart(6, '0')}-${randomBytes(3).toString('hex')}`,
    streamId: 'stream-ledger-1',
    wallet: account(),
    sessionAccount: account(),
    creator: account(),
    asset: 'native',
    pricePerSecond: 7n,
    budget: 10_000n,
    ...overrides,
  };
}

function settlementOf(s: SessionOpening, id: string, amount: bigint, block = 1): SettlementCreditInput {
  return {
    id,
    sessionId: s.sessionId,
    streamId: s.streamId,
    payer: s.sessionAccount,
    creator: s.creator,
    asset: s.asset,
    amount,
    blockNumber: block,
    blockHash: `0x${block.toString(16).padStart(64, '0')}`,
  };
}

/** Ticks 1..n of a session at its price. */
function ticks(s: SessionOpening, from: number, to: number) {
  const out = [];
  for (let seq = from; seq <= to; seq++) {
    out.push({ sessionId: s.sessionId, seq, watchedSeconds: seq, owed: BigInt(seq) * s.pricePerSecond });
  }
  return out;
}

function ledgerSuite(name: string, makeBackend: () => Promise<LedgerBackend>): void {
  describe(`ledger on ${name}`, () => {
    let backend: LedgerBackend;
    let ledger: Ledger;

    beforeAll(async () => {
      ({ backend, ledger } = await openLedgerOn(makeBackend));
    });
    afterAll(() => closeLedgerOn({ backend, ledger }));

    it('runs an operation once when it returns a drizzle query as is (a lazy thenable)', async () => {
      const seq = `use_once_${randomBytes(4).toString('hex')}`;
      await ledger.use(async (db) => db.execute(sql.raw(`create sequence ${seq}`)));
      // Not async: the query object itself, which runs on every then() it gets.
      await ledger.use((db) => db.execute(sql.raw(`select nextval('${seq}')`)));
      const rows = await ledger.use(async (db) => db.execute(sql.raw(`select last_value::int as v from ${seq}`)));
      const v = (Array.isArray(rows) ? rows : (rows as { rows: { v: number }[] }).rows)[0] as { v: number };
      expect(v.v).toBe(1);
      await ledger.use(async (db) => db.execute(sql.raw(`drop sequence ${seq}`)));
    });

    it('opens a session in canonical form and resumes it with its state', async () => {
      const s = opening({ wallet: account(0), asset: 1984, pricePerSecond: 250n });
      const { session, resumed } = await ledger.openSession(s);
      expect(resumed).toBe(false);
      expect(session).toMatchObject({
        sessionId: s.sessionId,
        wallet: encodeAddress(s.wallet, 42),
        asset: 1984,
        pricePerSecond: 250n,
        status: 'active',
        watchedSeconds: 0,
        lastSeq: 0,
        owed: 0n,
        acknowledged: 0n,
        settledPending: 0n,
        settledFinal: 0n,
      });
      expect(await ledger.recordTicks(ticks(s, 1, 3))).toEqual(new Set([s.sessionId]));
      await ledger.closeSession(s.sessionId);
      const again = await ledger.openSession({ ...s, budget: 20_000n });
      expect(again.resumed).toBe(true);
      expect(again.session).toMatchObject({ status: 'active', budget: 20_000n, watchedSeconds: 3, owed: 750n });
      await expect(ledger.openSession({ ...s, pricePerSecond: 1n })).rejects.toMatchObject({
        code: 'SESSION_MISMATCH',
      });
      await expect(ledger.openSession({ ...s, creator: account() })).rejects.toMatchObject({
        code: 'SESSION_MISMATCH',
      });
      await expect(ledger.openSession({ ...opening(), wallet: 'not-an-address' })).rejects.toMatchObject({
        code: 'INPUT_INVALID',
      });
    });

    it('records ticks idempotently by seq and refuses inexact or backward ones', async () => {
      const s = opening();
      await ledger.openSession(s);
      const [t1, t2, t3] = ticks(s, 1, 3);
      expect(await ledger.recordTick(t1!)).toBe('recorded');
      expect(await ledger.recordTick(t2!)).toBe('recorded');
      expect(await ledger.recordTick(t2!)).toBe('duplicate');
      expect(await ledger.recordTick(t1!)).toBe('duplicate');
      await expect(ledger.recordTick({ ...t3!, owed: t3!.owed + 1n })).rejects.toMatchObject({
        code: 'TICK_INVALID',
      });
      await expect(ledger.recordTick({ ...t3!, watchedSeconds: 1, owed: 7n })).rejects.toMatchObject({
        code: 'TICK_INVALID',
      });
      // A second without media: seq advances, seconds and amount do not.
      expect(await ledger.recordTick({ ...t3!, watchedSeconds: 2, owed: 14n })).toBe('recorded');
      expect(await ledger.session(s.sessionId)).toMatchObject({ lastSeq: 3, watchedSeconds: 2, owed: 14n });
      await expect(ledger.recordTick({ ...t3!, sessionId: 'sess-unknown-1' })).rejects.toMatchObject({
        code: 'SESSION_NOT_FOUND',
      });
      await expect(ledger.recordTick({ ...t3!, seq: 0 })).rejects.toMatchObject({ code: 'INPUT_INVALID' });
      await ledger.closeSession(s.sessionId);
      await expect(ledger.recordTick({ ...t3!, seq: 4, watchedSeconds: 3, owed: 21n })).rejects.toMatchObject({
        code: 'SESSION_CLOSED',
      });
    });

    it('records a round of many sessions in one batch, skipping replays', async () => {
      const all = Array.from({ length: 120 }, () => opening({ pricePerSecond: 3n }));
      for (const s of all) await ledger.openSession(s);
      const round1 = all.map((s) => ticks(s, 1, 1)[0]!);
      expect((await ledger.recordTicks(round1)).size).toBe(120);
      const round2 = all.map((s) => ticks(s, 2, 2)[0]!);
      const mixed = [...round2.slice(0, 60), ...round1.slice(60)];
      const recorded = await ledger.recordTicks(mixed);
      expect(recorded).toEqual(new Set(all.slice(0, 60).map((s) => s.sessionId)));
      expect(await ledger.session(all[0]!.sessionId)).toMatchObject({ watchedSeconds: 2, owed: 6n });
      expect(await ledger.session(all[119]!.sessionId)).toMatchObject({ watchedSeconds: 1, owed: 3n });
      // Any text is a valid id for the ledger on its own: quoting inside the batch must hold.
      const odd = opening({ sessionId: 'sess "odd", {braces} \\ back\\slash' });
      await ledger.openSession(odd);
      expect(await ledger.recordTicks([...ticks(odd, 1, 2), ...ticks(all[0]!, 3, 3)])).toEqual(
        new Set([odd.sessionId, all[0]!.sessionId]),
      );
      expect(await ledger.session(odd.sessionId)).toMatchObject({ lastSeq: 2, owed: 14n });
    });

    it('refuses a price above MAX_PRICE_PER_SECOND or a budget beyond u128 at opening', async () => {
      for (const bad of [
        { pricePerSecond: MAX_PRICE_PER_SECOND + 1n },
        { pricePerSecond: U128_MAX / 30n },
        { pricePerSecond: -1n },
        { budget: U128_MAX + 1n },
      ]) {
        await expect(ledger.openSession(opening(bad))).rejects.toMatchObject({ code: 'AMOUNT_OUT_OF_RANGE' });
      }
      const s = opening({ pricePerSecond: MAX_PRICE_PER_SECOND, budget: U128_MAX });
      expect((await ledger.openSession(s)).session).toMatchObject({ pricePerSecond: MAX_PRICE_PER_SECOND });
      // The longest session at the highest price still fits; a second beyond it is not recorded.
      const longest = BigInt(MAX_SESSION_SECONDS) * MAX_PRICE_PER_SECOND;
      const last = { sessionId: s.sessionId, seq: 1, watchedSeconds: MAX_SESSION_SECONDS, owed: longest };
      expect(await ledger.recordTicks([last])).toEqual(new Set([s.sessionId]));
      const beyond = { ...last, seq: 2, watchedSeconds: MAX_SESSION_SECONDS + 1, owed: longest + MAX_PRICE_PER_SECOND };
      expect(await ledger.recordTicks([beyond])).toEqual(new Set());
      await expect(ledger.recordTick(beyond)).rejects.toMatchObject({ code: 'INPUT_INVALID' });
      expect(await ledger.session(s.sessionId)).toMatchObject({ watchedSeconds: MAX_SESSION_SECONDS, owed: longest });
    });

    it('writes a round one session at a time when its statement fails, leaving out only the failing session', async () => {
      const { log, lines: logs } = capturedLog<{ msg: string; failed?: { sessionId: string }[] }>();
      const logged = await Ledger.open(backend.config, { log });
      const raw = await openLedgerDatabase(backend.config);
      const all = [opening(), opening(), opening()];
      for (const s of all) await logged.openSession(s);
      const poison = all[1]!;
      try {
        // A row the database refuses for good (SQLSTATE 23514) fails the round's one statement.
        await raw.db.execute(
          sql.raw(`alter table signaling.viewer_sessions add constraint test_poison
                   check (session_id <> '${poison.sessionId}' or watched_seconds < 3)`),
        );
        expect(await logged.recordTicks(all.map((s) => ticks(s, 2, 2)[0]!))).toEqual(
          new Set(all.map((s) => s.sessionId)),
        );
        const round = all.map((s) => ticks(s, 3, 3)[0]!);
        expect(await logged.recordTicks(round)).toEqual(new Set([all[0]!.sessionId, all[2]!.sessionId]));
        expect(logs).toEqual([
          expect.objectContaining({ failed: [expect.objectContaining({ sessionId: poison.sessionId, seq: 3 })] }),
        ]);
        expect(await logged.session(poison.sessionId)).toMatchObject({ lastSeq: 2, watchedSeconds: 2 });
        expect(await logged.session(all[2]!.sessionId)).toMatchObject({ lastSeq: 3, watchedSeconds: 3 });
      } finally {
        await raw.db.execute(sql.raw('alter table signaling.viewer_sessions drop constraint if exists test_poison'));
        await raw.close();
        await logged.close();
      }
      // The next round goes back to one statement for everyone.
      expect(await ledger.recordTicks(all.map((s) => ticks(s, 4, 4)[0]!))).toEqual(
        new Set(all.map((s) => s.sessionId)),
      );
    });

    it('only ever raises the acknowledged amount, never above what was metered', async () => {
      const s = opening();
      await ledger.openSession(s);
      await ledger.recordTicks(ticks(s, 1, 5));
      expect(await ledger.recordVoucher({ sessionId: s.sessionId, seq: 3, owed: 21n })).toEqual({
        raised: true,
        acknowledged: 21n,
      });
      expect(await ledger.recordVoucher({ sessionId: s.sessionId, seq: 2, owed: 14n })).toEqual({
        raised: false,
        acknowledged: 21n,
      });
      expect(await ledger.recordVoucher({ sessionId: s.sessionId, seq: 3, owed: 21n })).toEqual({
        raised: false,
        acknowledged: 21n,
      });
      await expect(ledger.recordVoucher({ sessionId: s.sessionId, seq: 6, owed: 42n })).rejects.toMatchObject({
        code: 'VOUCHER_EXCEEDS_OWED',
      });
      expect(await ledger.session(s.sessionId)).toMatchObject({ acknowledged: 21n, acknowledgedSeq: 3 });
    });

    it('credits settlements once by chain id: pending, then final, and final never changes', async () => {
      const s = opening();
      await ledger.openSession(s);
      await ledger.recordTicks(ticks(s, 1, 10));
      const a = settlementOf(s, '0xaa:1:2', 30n, 5);
      expect(await ledger.creditSettlement(a, 'pending')).toBe('credited');
      expect(await ledger.creditSettlement(a, 'pending')).toBe('unchanged');
      expect(await ledger.session(s.sessionId)).toMatchObject({ settledPending: 30n, settledFinal: 0n });
      expect(await ledger.creditSettlement(a, 'final')).toBe('finalized');
      expect(await ledger.creditSettlement(a, 'final')).toBe('unchanged');
      expect(await ledger.creditSettlement(a, 'pending')).toBe('unchanged');
      expect(await ledger.creditSettlement({ ...a, amount: 999n }, 'final')).toBe('unchanged');
      expect(await ledger.session(s.sessionId)).toMatchObject({ settledPending: 0n, settledFinal: 30n });
      // Seen only at finality (e.g. backfilled after a restart).
      expect(await ledger.creditSettlement(settlementOf(s, '0xbb:1:2', 5n, 6), 'final')).toBe('credited');
      expect(await ledger.session(s.sessionId)).toMatchObject({ settledPending: 0n, settledFinal: 35n });
    });

    it('ignores payments that are not from the session account to its creator', async () => {
      const s = opening({ asset: 1984 });
      await ledger.openSession(s);
      const base = settlementOf(s, '0xcc:1:1', 10n);
      expect(await ledger.creditSettlement({ ...base, payer: account() }, 'final')).toBe('ignored');
      expect(await ledger.creditSettlement({ ...base, creator: s.wallet }, 'final')).toBe('ignored');
      expect(await ledger.creditSettlement({ ...base, streamId: 'stream-other' }, 'final')).toBe('ignored');
      expect(await ledger.creditSettlement({ ...base, asset: 'native' }, 'final')).toBe('ignored');
      expect(await ledger.creditSettlement({ ...base, sessionId: 'sess-nobody-1' }, 'final')).toBe('ignored');
      // The same accounts in another SS58 format are the same accounts.
      const other = { ...base, payer: encodeAddress(s.sessionAccount, 2), creator: encodeAddress(s.creator, 0) };
      expect(await ledger.creditSettlement(other, 'final')).toBe('credited');
      expect(await ledger.session(s.sessionId)).toMatchObject({ settledFinal: 10n });
    });

    it('credits a replay session only from ps1:replay payments, and a live session only from ps1:pay ones', async () => {
      const replay = opening({ kind: 'replay' });
      const live = opening();
      for (const s of [replay, live]) await ledger.openSession(s);
      // The other kind's remark on the right transfer is not this session's payment: never credited, at any status.
      const livePaid = settlementOf(replay, '0xd1:1:1', 21n);
      expect(await ledger.creditSettlement({ ...livePaid, sessionKind: 'live' }, 'pending')).toBe('ignored');
      expect(await ledger.creditSettlement(livePaid, 'final')).toBe('ignored');
      const replayPaid = { ...settlementOf(live, '0xd2:1:1', 22n), sessionKind: 'replay' as const };
      expect(await ledger.creditSettlement(replayPaid, 'final')).toBe('ignored');
      expect(await ledger.session(replay.sessionId)).toMatchObject({ settledPending: 0n, settledFinal: 0n });
      expect(await ledger.session(live.sessionId)).toMatchObject({ settledPending: 0n, settledFinal: 0n });
      // Each kind's own remark is credited.
      const replayOwn = { ...settlementOf(replay, '0xd3:1:1', 23n), sessionKind: 'replay' as const };
      expect(await ledger.creditSettlement(replayOwn, 'pending')).toBe('credited');
      expect(await ledger.creditSettlement(replayOwn, 'final')).toBe('finalized');
      const liveOwn = { ...settlementOf(live, '0xd4:1:1', 24n), sessionKind: 'live' as const };
      expect(await ledger.creditSettlement(liveOwn, 'final')).toBe('credited');
      expect(await ledger.session(replay.sessionId)).toMatchObject({ kind: 'replay', settledFinal: 23n });
      expect(await ledger.session(live.sessionId)).toMatchObject({ kind: 'live', settledFinal: 24n });
    });

    it('retracts the pending credits of a block that lost a fork, never final ones', async () => {
      const s = opening();
      await ledger.openSession(s);
      const forked = settlementOf(s, '0xdd:1:1', 8n, 77);
      const kept = settlementOf(s, '0xdd:2:1', 9n, 78);
      await ledger.creditSettlement(forked, 'pending');
      await ledger.creditSettlement(kept, 'final');
      expect(await ledger.retractBlock(forked.blockHash)).toEqual([s.sessionId]);
      expect(await ledger.retractBlock(forked.blockHash)).toEqual([]);
      expect(await ledger.retractBlock(kept.blockHash)).toEqual([]);
      expect(await ledger.session(s.sessionId)).toMatchObject({ settledPending: 0n, settledFinal: 9n });
      // Re-included in another block later: credited again, once.
      expect(await ledger.creditSettlement({ ...forked, id: '0xee:1:1' }, 'pending')).toBe('credited');
      expect(await ledger.session(s.sessionId)).toMatchObject({ settledPending: 8n });
    });

    it('records fundings once by chain id, pending then final, and retracts the pending ones of a lost block', async () => {
      const sessionId = `sess-fund-${randomBytes(3).toString('hex')}`;
      const wallet = account(0);
      const sessionAccount = account(2);
      const funding = (id: string, amount: bigint, block: number) => ({
        id,
        sessionId,
        wallet,
        sessionAccount,
        asset: 1984 as const,
        amount,
        blockNumber: block,
        blockHash: `0x${block.toString(16).padStart(64, '0')}`,
      });
      const a = funding('0xfa:1:1', 500n, 300);
      const b = funding('0xfb:1:1', 70n, 301);
      const stored = (f: typeof a, status: 'pending' | 'final') => ({
        ...f,
        wallet: encodeAddress(wallet, 42),
        sessionAccount: encodeAddress(sessionAccount, 42),
        status,
      });
      expect(await ledger.fundingsOf(sessionId)).toEqual([]);
      await ledger.recordFunding(a, 'pending');
      await ledger.recordFunding(a, 'pending');
      expect(await ledger.fundingsOf(sessionId)).toEqual([stored(a, 'pending')]);
      await ledger.recordFunding(a, 'final');
      await ledger.recordFunding({ ...a, amount: 1n }, 'pending');
      await ledger.recordFunding(b, 'pending');
      expect(await ledger.fundingsOf(sessionId)).toEqual([stored(a, 'final'), stored(b, 'pending')]);
      expect(await ledger.retractBlock(b.blockHash)).toEqual([]);
      expect(await ledger.retractBlock(a.blockHash)).toEqual([]);
      expect(await ledger.fundingsOf(sessionId)).toEqual([stored(a, 'final')]);
      await expect(ledger.recordFunding({ ...b, amount: -1n }, 'final')).rejects.toMatchObject({
        code: 'INPUT_INVALID',
      });
    });

    it("sums a wallet's unsettled debt across its sessions, exactly at the price bound", async () => {
      const wallet = account();
      const big = MAX_PRICE_PER_SECOND;
      const s1 = opening({ wallet, pricePerSecond: big });
      const s2 = opening({ wallet, pricePerSecond: 5n });
      const s3 = opening({ wallet, pricePerSecond: 5n });
      for (const s of [s1, s2, s3]) await ledger.openSession(s);
      await ledger.recordTicks([...ticks(s1, 3, 3), ...ticks(s2, 10, 10), ...ticks(s3, 4, 4)]);
      await ledger.recordVoucher({ sessionId: s1.sessionId, seq: 3, owed: 3n * big });
      await ledger.recordVoucher({ sessionId: s2.sessionId, seq: 8, owed: 40n });
      await ledger.creditSettlement(settlementOf(s1, '0xf1:1:1', big, 9), 'final');
      await ledger.creditSettlement(settlementOf(s2, '0xf2:1:1', 15n, 9), 'pending');
      // s3: overpaid (settled more than acknowledged) counts as no debt, not as credit for the others.
      await ledger.creditSettlement(settlementOf(s3, '0xf3:1:1', 50n, 9), 'final');
      expect(await ledger.debtOf(encodeAddress(wallet, 0))).toEqual({
        sessions: 3,
        owed: 3n * big + 50n + 20n,
        acknowledged: 3n * big + 40n,
        settled: big + 15n + 50n,
        // Metered and not paid: s1 2 × big, s2 35 (not only the 25 its vouchers covered), s3 nothing.
        debt: 2n * big + 35n,
      });
      expect(await ledger.debtOf(wallet, { exceptSessionId: s1.sessionId })).toMatchObject({
        sessions: 2,
        debt: 35n,
      });
      expect(await ledger.debtOf(wallet, { exceptActive: [s1.sessionId, s2.sessionId] })).toMatchObject({
        sessions: 1,
        debt: 0n,
      });
      expect(await ledger.debtOf(account())).toEqual({
        sessions: 0,
        owed: 0n,
        acknowledged: 0n,
        settled: 0n,
        debt: 0n,
      });
    });

    it('holds what was metered and not paid against the session account as well as the wallet', async () => {
      const wallet = account();
      const sessionAccount = account();
      // Another wallet delegating the same session account: its sessions count for the account, not the wallet.
      const a1 = opening({ wallet, sessionAccount, pricePerSecond: 3n });
      const a2 = opening({ wallet: account(), sessionAccount: encodeAddress(sessionAccount, 0), pricePerSecond: 3n });
      const w1 = opening({ wallet, pricePerSecond: 2n });
      for (const s of [a1, a2, w1]) await ledger.openSession(s);
      await ledger.recordTicks([...ticks(a1, 10, 10), ...ticks(a2, 4, 4), ...ticks(w1, 5, 5)]);
      // No voucher at all for a2 and w1: unacknowledged seconds are debt too.
      await ledger.recordVoucher({ sessionId: a1.sessionId, seq: 10, owed: 30n });
      await ledger.creditSettlement(settlementOf(a1, '0xa1:1:1', 20n, 410), 'pending');
      await ledger.creditSettlement(settlementOf(a2, '0xa2:1:1', 2n, 411), 'final');
      const both = await ledger.debtOf({ wallet, sessionAccount });
      expect(both).toEqual({
        wallet: { sessions: 2, owed: 40n, acknowledged: 30n, settled: 20n, debt: 20n },
        sessionAccount: { sessions: 2, owed: 42n, acknowledged: 30n, settled: 22n, debt: 20n },
      });
      expect(await ledger.debtOf({ wallet, sessionAccount }, { exceptSessionId: a1.sessionId })).toEqual({
        wallet: { sessions: 1, owed: 10n, acknowledged: 0n, settled: 0n, debt: 10n },
        sessionAccount: { sessions: 1, owed: 12n, acknowledged: 0n, settled: 2n, debt: 10n },
      });

      // The other live sessions of the account (the admission's SESSION_IN_USE), newest first.
      const active = await ledger.activeSessionsOf(sessionAccount, { exceptSessionId: a1.sessionId });
      expect(active).toEqual([
        {
          sessionId: a2.sessionId,
          streamId: a2.streamId,
          wallet: encodeAddress(a2.wallet, 42),
          updatedAt: expect.any(Date),
        },
      ]);
      expect((await ledger.activeSessionsOf(sessionAccount)).map((s) => s.sessionId)).toEqual([
        a2.sessionId,
        a1.sessionId,
      ]);
      await ledger.closeSession(a2.sessionId);
      expect(await ledger.activeSessionsOf(sessionAccount, { exceptSessionId: a1.sessionId })).toEqual([]);
    });

    it('quarantines a chain event it can never apply and carries on with the block, the cursor moving with it', async () => {
      const honest = opening({ asset: 1984, pricePerSecond: 5n });
      const attacker = opening({ asset: 4242, pricePerSecond: 1n });
      for (const s of [honest, attacker]) await ledger.openSession(s);
      await ledger.recordTicks([...ticks(honest, 4, 4), ...ticks(attacker, 1, 1)]);
      const hash = `0x${'5a'.repeat(32)}`;
      const event = (s: SessionOpening, index: number, amount: bigint) => ({
        ...settlementOf(s, `${hash}:${index}:1`, amount, 500),
        blockHash: hash,
        type: 'settlement' as const,
        sessionKind: 'live' as const,
        seq: 1,
        parentHash: `0x${'00'.repeat(32)}`,
        extrinsicIndex: index,
        eventIndex: 1,
        extrinsicHash: `0x${'11'.repeat(32)}`,
      });
      const huge = U128_MAX - 5n;
      const { streamId, payer, creator, seq, ...position } = event(honest, 9, 100n);
      const funding = { ...position, type: 'funding' as const, wallet: honest.wallet, sessionAccount: payer };
      const block = {
        hash,
        number: 500,
        parentHash: `0x${'00'.repeat(32)}`,
        // The attacker's first payment fits u128; its second would take the session's settled total past it.
        events: [event(attacker, 1, huge), event(attacker, 2, huge), event(honest, 3, 20n), funding],
      };
      const cursor = { genesisHash: '0x02', number: 500, hash };
      const pending = await ledger.applyBlock({ status: 'pending', block });
      expect(pending.outcomes).toEqual(['credited', 'credited']);
      expect(pending.quarantined).toEqual([
        expect.objectContaining({
          id: `${hash}:2:1`,
          kind: 'settlement',
          sessionId: attacker.sessionId,
          status: 'pending',
          payload: expect.objectContaining({ amount: huge.toString(), payer: attacker.sessionAccount }),
          error: expect.stringContaining('past u128'),
        }),
      ]);
      const final = await ledger.applyBlock({ status: 'final', block }, cursor);
      expect(final.outcomes).toEqual(['finalized', 'finalized']);
      expect(final.changes).toEqual([
        { sessionId: attacker.sessionId, outcome: 'finalized' },
        { sessionId: honest.sessionId, outcome: 'finalized' },
      ]);
      expect(await ledger.quarantined(attacker.sessionId)).toEqual([
        expect.objectContaining({ id: `${hash}:2:1`, status: 'final', blockNumber: 500 }),
      ]);
      expect(await ledger.session(attacker.sessionId)).toMatchObject({ settledPending: 0n, settledFinal: huge });
      expect(await ledger.session(honest.sessionId)).toMatchObject({ settledPending: 0n, settledFinal: 20n });
      expect(await ledger.fundingsOf(honest.sessionId)).toEqual([expect.objectContaining({ status: 'final' })]);
      expect(await ledger.watcherCursor()).toEqual(cursor);
    });

    it('quarantines what the database refuses for good, and rolls the whole block back on a retryable failure', async () => {
      const s = opening({ pricePerSecond: 3n });
      await ledger.openSession(s);
      const raw = await openLedgerDatabase(backend.config);
      const block = (number: number, amounts: bigint[]) => {
        const hash = `0x${number.toString(16).padStart(64, '0')}`;
        return {
          hash,
          number,
          parentHash: `0x${'00'.repeat(32)}`,
          events: amounts.map((amount, i) => ({
            ...settlementOf(s, `${hash}:${i}:1`, amount, number),
            type: 'settlement' as const,
            sessionKind: 'live' as const,
            seq: i + 1,
            parentHash: `0x${'00'.repeat(32)}`,
            extrinsicIndex: i,
            eventIndex: 1,
            extrinsicHash: `0x${'22'.repeat(32)}`,
          })),
        };
      };
      try {
        // A constraint the event breaks (SQLSTATE 23514) is permanent: quarantined, the block's others credited.
        await raw.db.execute(
          sql.raw(`alter table signaling.settlement_credits add constraint test_no_13 check (amount <> 13)`),
        );
        const refused = await ledger.applyBlock({ status: 'final', block: block(601, [13n, 4n]) });
        expect(refused.outcomes).toEqual(['credited']);
        expect(refused.quarantined).toEqual([expect.objectContaining({ error: expect.stringContaining('23514') })]);
        expect(await ledger.session(s.sessionId)).toMatchObject({ settledFinal: 4n });

        // A serialization failure (SQLSTATE 40001) is retryable: nothing of the block is kept, the cursor stays.
        await raw.db.execute(
          sql.raw(`create or replace function signaling.test_busy() returns trigger language plpgsql as $$
                   begin if new.amount = 17 then raise exception 'busy' using errcode = '40001'; end if;
                   return new; end $$`),
        );
        await raw.db.execute(
          sql.raw(`create trigger test_busy before insert on signaling.settlement_credits
                   for each row execute function signaling.test_busy()`),
        );
        const before = await ledger.watcherCursor();
        const retry = block(602, [5n, 17n]);
        await expect(
          ledger.applyBlock({ status: 'final', block: retry }, { genesisHash: '0x03', number: 602, hash: retry.hash }),
        ).rejects.toThrow();
        expect(await ledger.session(s.sessionId)).toMatchObject({ settledFinal: 4n });
        expect(await ledger.watcherCursor()).toEqual(before);
        expect(await ledger.quarantined(s.sessionId)).toHaveLength(1);
      } finally {
        await raw.db.execute(sql.raw('drop trigger if exists test_busy on signaling.settlement_credits'));
        await raw.db.execute(sql.raw('drop function if exists signaling.test_busy()'));
        await raw.db.execute(sql.raw('alter table signaling.settlement_credits drop constraint if exists test_no_13'));
        await raw.close();
      }
    });

    it("totals a stream's sessions for its creator", async () => {
      const streamId = `stream-totals-${randomBytes(3).toString('hex')}`;
      const s1 = opening({ streamId, pricePerSecond: 4n });
      const s2 = opening({ streamId, pricePerSecond: 4n });
      for (const s of [s1, s2]) await ledger.openSession(s);
      await ledger.recordTicks([...ticks(s1, 5, 5), ...ticks(s2, 2, 2)]);
      await ledger.recordVoucher({ sessionId: s1.sessionId, seq: 4, owed: 16n });
      await ledger.creditSettlement(settlementOf(s1, `${streamId}:1:1`, 12n, 3), 'final');
      await ledger.creditSettlement(settlementOf(s2, `${streamId}:2:1`, 4n, 4), 'pending');
      await ledger.closeSession(s2.sessionId);
      // A closed session's amounts still count: the creator earned them.
      expect(await ledger.streamTotals(streamId)).toEqual({
        owed: 28n,
        acknowledged: 16n,
        settledPending: 4n,
        settledFinal: 12n,
      });
      expect(await ledger.streamTotals('stream-nobody-watches')).toEqual({
        owed: 0n,
        acknowledged: 0n,
        settledPending: 0n,
        settledFinal: 0n,
      });
    });

    it('keeps the amount arithmetic exact under any sequence of ticks, vouchers and credits', async () => {
      type Op =
        | { kind: 'tick'; flowing: boolean }
        | { kind: 'replayTick'; pick: number }
        | { kind: 'voucher'; pick: number }
        | { kind: 'credit'; share: number; final: boolean }
        | { kind: 'finalize'; pick: number }
        | { kind: 'retract'; pick: number };
      const op: fc.Arbitrary<Op> = fc.oneof(
        fc.record({ kind: fc.constant('tick' as const), flowing: fc.boolean() }),
        fc.record({ kind: fc.constant('replayTick' as const), pick: fc.nat() }),
        fc.record({ kind: fc.constant('voucher' as const), pick: fc.nat() }),
        fc.record({
          kind: fc.constant('credit' as const),
          share: fc.integer({ min: 0, max: 100 }),
          final: fc.boolean(),
        }),
        fc.record({ kind: fc.constant('finalize' as const), pick: fc.nat() }),
        fc.record({ kind: fc.constant('retract' as const), pick: fc.nat() }),
      );
      const price = fc.oneof(fc.bigInt({ min: 0n, max: 1000n }), fc.bigInt({ min: 0n, max: MAX_PRICE_PER_SECOND }));
      let block = 1000;
      await fc.assert(
        fc.asyncProperty(price, fc.array(op, { maxLength: 24 }), async (pricePerSecond, ops) => {
          const s = opening({ pricePerSecond });
          await ledger.openSession(s);
          const sent: { seq: number; watchedSeconds: number; owed: bigint }[] = [];
          const credits: { input: SettlementCreditInput; final: boolean; live: boolean }[] = [];
          let watched = 0;
          let acknowledged = 0n;
          for (const o of ops) {
            const pick = <T>(xs: T[], i: number) => xs[i % xs.length];
            if (o.kind === 'tick') {
              watched += o.flowing ? 1 : 0;
              const t = { seq: sent.length + 1, watchedSeconds: watched, owed: BigInt(watched) * pricePerSecond };
              sent.push(t);
              expect(await ledger.recordTick({ sessionId: s.sessionId, ...t })).toBe('recorded');
            } else if (o.kind === 'replayTick' && sent.length > 0) {
              const t = pick(sent, o.pick)!;
              expect(await ledger.recordTick({ sessionId: s.sessionId, ...t })).toBe('duplicate');
            } else if (o.kind === 'voucher' && sent.length > 0) {
              const t = pick(sent, o.pick)!;
              const r = await ledger.recordVoucher({ sessionId: s.sessionId, seq: t.seq, owed: t.owed });
              expect(r.raised).toBe(t.owed > acknowledged);
              if (t.owed > acknowledged) acknowledged = t.owed;
              expect(r.acknowledged).toBe(acknowledged);
            } else if (o.kind === 'credit') {
              block++;
              const amount = (BigInt(watched) * pricePerSecond * BigInt(o.share)) / 100n;
              const input = settlementOf(s, `0x${block.toString(16)}:1:1`, amount, block);
              expect(await ledger.creditSettlement(input, o.final ? 'final' : 'pending')).toBe('credited');
              credits.push({ input, final: o.final, live: true });
            } else if (o.kind === 'finalize' && credits.length > 0) {
              const c = pick(credits, o.pick)!;
              const outcome = await ledger.creditSettlement(c.input, 'final');
              expect(outcome).toBe(c.live && !c.final ? 'finalized' : c.live ? 'unchanged' : 'credited');
              c.final = true;
              c.live = true;
            } else if (o.kind === 'retract' && credits.length > 0) {
              const c = pick(credits, o.pick)!;
              const removed = await ledger.retractBlock(c.input.blockHash);
              expect(removed).toEqual(c.live && !c.final ? [s.sessionId] : []);
              if (!c.final) c.live = false;
            }
          }
          const sum = (final: boolean) =>
            credits.filter((c) => c.live && c.final === final).reduce((acc, c) => acc + c.input.amount, 0n);
          const owed = BigInt(watched) * pricePerSecond;
          expect(await ledger.session(s.sessionId)).toMatchObject({
            watchedSeconds: watched,
            lastSeq: sent.length,
            owed,
            acknowledged,
            settledPending: sum(false),
            settledFinal: sum(true),
          });
          const settled = sum(false) + sum(true);
          expect(await ledger.debtOf(s.wallet)).toEqual({
            sessions: 1,
            owed,
            acknowledged,
            settled,
            debt: owed > settled ? owed - settled : 0n,
          });
        }),
        { numRuns: 40 },
      );
    });

    // Only a server can drop connections; the embedded database has none to drop.
    if (name === 'PostgreSQL')
      it('carries on when the server drops its connections', async () => {
        const s = opening();
        await ledger.openSession(s);
        const url = 'databaseUrl' in backend.config ? backend.config.databaseUrl : '';
        const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
        await admin.connect();
        try {
          const { rowCount } = await admin.query(
            'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
            [new URL(url).pathname.slice(1)],
          );
          expect(rowCount).toBeGreaterThan(0);
        } finally {
          await admin.end();
        }
        await new Promise((r) => setTimeout(r, 100));
        expect(await ledger.recordTick(ticks(s, 1, 1)[0]!)).toBe('recorded');
        expect(await ledger.session(s.sessionId)).toMatchObject({ watchedSeconds: 1 });
      });

    it('survives close + reopen mid-session: same state, nothing charged twice', async () => {
      const s = opening({ pricePerSecond: 1_000_000n });
      await ledger.openSession(s);
      await ledger.recordTicks(ticks(s, 1, 4));
      await ledger.recordVoucher({ sessionId: s.sessionId, seq: 3, owed: 3_000_000n });
      await ledger.creditSettlement(settlementOf(s, '0x5e:1:1', 2_000_000n, 50), 'pending');
      await ledger.saveWatcherCursor({ genesisHash: '0x01', number: 49, hash: '0x31' });
      // Closing waits for the write in flight; later calls are refused.
      const inFlight = ledger.recordTick(ticks(s, 5, 5)[0]!);
      const closing = ledger.close();
      await expect(ledger.session(s.sessionId)).rejects.toMatchObject({ code: 'LEDGER_CLOSED' });
      expect(await inFlight).toBe('recorded');
      await closing;
      await ledger.close();
      const before = { watchedSeconds: 5, lastSeq: 5, owed: 5_000_000n, acknowledged: 3_000_000n };

      ledger = await Ledger.open(backend.config);
      expect(await ledger.session(s.sessionId)).toMatchObject({ ...before, settledPending: 2_000_000n });
      expect(await ledger.watcherCursor()).toEqual({ genesisHash: '0x01', number: 49, hash: '0x31' });
      // The resumed node replays what it may have sent around the restart: nothing changes.
      expect((await ledger.recordTicks(ticks(s, 1, 5))).size).toBe(0);
      expect(await ledger.creditSettlement(settlementOf(s, '0x5e:1:1', 2_000_000n, 50), 'pending')).toBe('unchanged');
      const { session, resumed } = await ledger.openSession(s);
      expect(resumed).toBe(true);
      expect(session).toMatchObject({ ...before, settledPending: 2_000_000n });
      expect(await ledger.recordTick(ticks(s, 6, 6)[0]!)).toBe('recorded');
      expect(await ledger.creditSettlement(settlementOf(s, '0x5e:1:1', 2_000_000n, 50), 'final')).toBe('finalized');
      expect(await ledger.session(s.sessionId)).toMatchObject({
        watchedSeconds: 6,
        owed: 6_000_000n,
        settledPending: 0n,
        settledFinal: 2_000_000n,
      });
      expect(await ledger.debtOf(s.wallet)).toMatchObject({ debt: 4_000_000n });
    });
  });
}

ledgerSuite('PGlite', async () => pgliteBackend());

describe.skipIf(!process.env.DATABASE_URL)('PostgreSQL', () => {
  ledgerSuite('PostgreSQL', () => postgresBackend(process.env.DATABASE_URL ?? ''));
});

describe('embedded database sharing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'persecond-ledger-lock-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('shares one directory between ledgers of one process and keeps other live processes out', async () => {
    await cryptoWaitReady();
    const a = await Ledger.open({ dataDir: dir });
    const b = await Ledger.open({ dataDir: dir });
    const s = opening();
    await a.openSession(s);
    expect(await b.session(s.sessionId)).toMatchObject({ sessionId: s.sessionId });
    await a.close();
    expect(await b.recordTick(ticks(s, 1, 1)[0]!)).toBe('recorded');
    await b.close();

    // Held by a live process (our parent): refused. Left by a dead one: taken over.
    writeFileSync(join(dir, 'ledger.lock'), String(process.ppid));
    await expect(Ledger.open({ dataDir: dir })).rejects.toMatchObject({ code: 'LEDGER_LOCKED' });
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    writeFileSync(join(dir, 'ledger.lock'), gone);
    const c = await Ledger.open({ dataDir: dir });
    expect(await c.session(s.sessionId)).toMatchObject({ watchedSeconds: 1, owed: 7n });
    await c.close();
  });
});
