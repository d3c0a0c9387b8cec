import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cryptoWaitReady, encodeAddress } from '@polkadot/util-crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ledger, type SessionOpening } from '../src/ledger/Ledger.ts';
import { persistedTicks } from '../src/meter/persistedTicks.ts';
import { type MeterTick, TickMeter } from '../src/meter/TickMeter.ts';

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
});
