import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cryptoWaitReady, encodeAddress } from '@polkadot/util-crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ledger, type SessionOpening } from '../src/ledger/Ledger.ts';
import { persistedTicks } from '../src/payments/persistedTicks.ts';
import { type MeterTick, TickMeter } from '../src/payments/TickMeter.ts';

const account = (n: number) => encodeAddress(new Uint8Array(32).fill(n), 42);

async function rounds(meter: TickMeter, n: number): Promise<void> {
  const target = meter.stats.rounds + n;
  while (meter.stats.rounds < target) await new Promise((r) => setTimeout(r, 10));
}

describe('TickMeter writing to the Ledger', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'persecond-meter-ledger-'));
  const sessions: SessionOpening[] = [1, 2, 3].map((n) => ({
    sessionId: `sess-meter-${n}000`,
    streamId: 'stream-meter-1',
    wallet: account(n),
    sessionAccount: account(10 + n),
    creator: account(99),
    asset: 'native',
    pricePerSecond: 1_000_000_007n * BigInt(n),
    budget: 10n ** 15n,
  }));
  const [a, b, c] = sessions as [SessionOpening, SessionOpening, SessionOpening];

  beforeAll(cryptoWaitReady);
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('delivers only recorded ticks, and a restart resumes every session without charging twice', async () => {
    let ledger = await Ledger.open({ dataDir });
    for (const s of sessions) await ledger.openSession(s);
    const delivered = new Map<string, MeterTick[]>();
    const deliver = (id: string, t: MeterTick) => delivered.set(id, [...(delivered.get(id) ?? []), t]);
    let flowingB = true;
    let meter = new TickMeter({ intervalMs: 100, ...persistedTicks(ledger, deliver) });
    meter.add(a.sessionId, { pricePerSecond: a.pricePerSecond, probe: () => true });
    meter.add(b.sessionId, { pricePerSecond: b.pricePerSecond, probe: () => flowingB });
    meter.add(c.sessionId, { pricePerSecond: c.pricePerSecond, probe: () => true });
    await rounds(meter, 3);
    // The viewer of c left: the ledger refuses its ticks, so none is delivered any more.
    await ledger.closeSession(c.sessionId);
    const cDelivered = delivered.get(c.sessionId)?.length ?? 0;
    flowingB = false;
    await rounds(meter, 3);
    await meter.close();
    expect(delivered.get(c.sessionId)?.length ?? 0).toBeLessThanOrEqual(cDelivered + 1);
    for (const s of [a, b]) {
      const last = delivered.get(s.sessionId)?.at(-1);
      expect(await ledger.session(s.sessionId)).toMatchObject({
        lastSeq: last?.seq,
        watchedSeconds: last?.watchedSeconds,
        owed: last?.owed,
      });
      expect(last?.owed).toBe(BigInt(last?.watchedSeconds ?? -1) * s.pricePerSecond);
    }
    expect(meter.state(a.sessionId)).toBeUndefined();
    await ledger.close();

    // A new process: the ledger is reopened and each viewer is metered again from its stored session.
    ledger = await Ledger.open({ dataDir });
    const before = new Map<string, MeterTick>();
    meter = new TickMeter({ intervalMs: 100, ...persistedTicks(ledger, deliver) });
    for (const s of [a, b]) {
      const stored = await ledger.openSession(s);
      expect(stored.resumed).toBe(true);
      const { lastSeq: seq, watchedSeconds, owed } = stored.session;
      before.set(s.sessionId, { seq, watchedSeconds, owed });
      meter.add(s.sessionId, { pricePerSecond: s.pricePerSecond, probe: () => true, seq, watchedSeconds });
    }
    await rounds(meter, 3);
    await meter.close();
    for (const s of [a, b]) {
      const all = delivered.get(s.sessionId) ?? [];
      // Across the restart: one tick per seq, consecutive, seconds never counted twice, amounts exact.
      all.forEach((t, i) => {
        expect(t.seq).toBe(i + 1);
        expect(t.owed).toBe(BigInt(t.watchedSeconds) * s.pricePerSecond);
        if (i > 0) expect(t.watchedSeconds - (all[i - 1]?.watchedSeconds ?? 0)).toBe(1);
      });
      const resumedFrom = before.get(s.sessionId);
      const stored = await ledger.session(s.sessionId);
      expect(stored?.watchedSeconds).toBe((resumedFrom?.watchedSeconds ?? 0) + meter.stats.rounds);
      expect(stored?.owed).toBe(all.at(-1)?.owed);
    }
    await ledger.close();
  });

  it('delivers a round in chunks, one per turn of the event loop, all after the write, in meter order', async () => {
    const ledger = await Ledger.open({ dataDir: 'memory://' });
    const many: SessionOpening[] = Array.from({ length: 25 }, (_, i) => ({
      ...(a as SessionOpening),
      sessionId: `sess-chunk-${String(i).padStart(4, '0')}`,
      wallet: account(100 + i),
    }));
    for (const s of many) await ledger.openSession(s);
    const order: string[] = [];
    /** Per delivered tick: how many turns of the event loop had passed since the round's first delivery. */
    const turnOf: number[] = [];
    let turns = 0;
    let spinning = false;
    const spin = () => {
      if (!spinning) return;
      turns++;
      setImmediate(spin);
    };
    const hooks = persistedTicks(
      {
        recordTicks: async (ticks) => {
          const recorded = await ledger.recordTicks(ticks);
          // Nothing of the round is delivered before its write.
          expect(order).toEqual([]);
          return recorded;
        },
      },
      (id) => {
        if (!spinning) {
          spinning = true;
          setImmediate(spin);
        }
        order.push(id);
        turnOf.push(turns);
      },
      { chunk: 10 },
    );
    expect(() => persistedTicks(ledger, () => undefined, { chunk: 0 })).toThrow(RangeError);
    many.forEach((s, i) => {
      hooks.onTick(s.sessionId, { seq: 1, watchedSeconds: 1, owed: s.pricePerSecond });
      if (i === 0) hooks.onTick('sess-unknown-0000', { seq: 1, watchedSeconds: 1, owed: 1n });
    });
    await hooks.afterRound();
    spinning = false;
    // 26 ticks (one refused by the ledger, so 25 delivered) in chunks of 10: three turns.
    expect(order).toEqual(many.map((s) => s.sessionId));
    const chunks = [...new Set(turnOf)];
    expect(chunks).toHaveLength(3);
    expect(turnOf.filter((t) => t === chunks[0])).toHaveLength(9);
    expect(turnOf.filter((t) => t === chunks[1])).toHaveLength(10);
    await ledger.close();
  });

  it("spreads a round's chunks over spreadMs, the first chunk at once", async () => {
    const ledger = await Ledger.open({ dataDir: 'memory://' });
    const many: SessionOpening[] = Array.from({ length: 30 }, (_, i) => ({
      ...(a as SessionOpening),
      sessionId: `sess-spread-${String(i).padStart(4, '0')}`,
      wallet: account(150 + i),
    }));
    for (const s of many) await ledger.openSession(s);
    const at: number[] = [];
    let written = 0;
    const hooks = persistedTicks(
      {
        recordTicks: async (ticks) => {
          const recorded = await ledger.recordTicks(ticks);
          written = performance.now();
          return recorded;
        },
      },
      () => at.push(performance.now() - written),
      { chunk: 10, spreadMs: 300 },
    );
    expect(() => persistedTicks(ledger, () => undefined, { spreadMs: -1 })).toThrow(RangeError);
    for (const s of many) hooks.onTick(s.sessionId, { seq: 1, watchedSeconds: 1, owed: s.pricePerSecond });
    await hooks.afterRound();
    expect(at).toHaveLength(30);
    // Three chunks 150 ms apart: the first right after the write, the last about 300 ms later.
    expect(at[9]).toBeLessThan(100);
    expect(at[10]).toBeGreaterThanOrEqual(140);
    expect(at[29]).toBeGreaterThanOrEqual(290);
    expect(at[29]).toBeLessThan(1_000);
    await ledger.close();
  });
});
