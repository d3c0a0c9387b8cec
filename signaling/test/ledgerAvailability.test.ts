// The parts of the ledger-outage behaviour that need no database: which failures mean "the database is away", how
// availability turns them into LEDGER_UNAVAILABLE and back, and how a round that cannot be recorded leaves the meter
// (nothing delivered, the count set back). The whole behaviour on a real PostgreSQL: test/faults/ledgerOutage.test.ts.
import { describe, expect, it } from 'vitest';
import { isDatabaseUnreachable, LedgerAvailability } from '../src/ledger/availability.ts';
import { LedgerError } from '../src/ledger/errors.ts';
import type { TickRecord } from '../src/ledger/Ledger.ts';
import { persistedTicks } from '../src/payments/persistedTicks.ts';
import { type MeterTick, TickMeter } from '../src/payments/TickMeter.ts';

/** An error as node-postgres raises it, wrapped as drizzle wraps it. */
function wrapped(inner: Error & { code?: string }): Error {
  return new Error('Failed query: update …', { cause: inner });
}

describe('a database that cannot be reached', () => {
  it('is told apart from an operation the database refuses', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5'), { code: 'ECONNREFUSED' });
    expect(isDatabaseUnreachable(refused)).toBe(true);
    expect(isDatabaseUnreachable(wrapped(new Error('Connection terminated unexpectedly')))).toBe(true);
    expect(isDatabaseUnreachable(wrapped(new Error('timeout exceeded when trying to connect')))).toBe(true);
    const startingUp = Object.assign(new Error('the database system is starting up'), { code: '57P03' });
    expect(isDatabaseUnreachable(wrapped(startingUp))).toBe(true);
    expect(isDatabaseUnreachable(Object.assign(new Error('admin shutdown'), { code: '57P01' }))).toBe(true);
    expect(isDatabaseUnreachable(new AggregateError([refused], 'connect failed'))).toBe(true);
    // Refusals of the operation itself: retrying will not help, or the ledger says so itself.
    expect(isDatabaseUnreachable(wrapped(Object.assign(new Error('numeric overflow'), { code: '22003' })))).toBe(false);
    expect(isDatabaseUnreachable(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBe(false);
    expect(isDatabaseUnreachable(new LedgerError('LEDGER_CLOSED', 'closed'))).toBe(false);
    expect(isDatabaseUnreachable(new LedgerError('LEDGER_UNAVAILABLE', 'away'))).toBe(true);
    expect(isDatabaseUnreachable(undefined)).toBe(false);
  });

  it('marks the ledger degraded until an operation succeeds, telling each change once', () => {
    const availability = new LedgerAvailability(undefined);
    const changes: boolean[] = [];
    let unreachable = 0;
    availability.hooks = { onChange: (up) => changes.push(up), onUnreachable: () => unreachable++ };
    expect(availability.health()).toEqual({ status: 'ok' });

    const other = new Error('syntax error');
    expect(availability.failed(other)).toBe(other);
    expect(availability.available).toBe(true);

    const cut = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    const told = availability.failed(cut);
    expect(told).toBeInstanceOf(LedgerError);
    expect(told).toMatchObject({ code: 'LEDGER_UNAVAILABLE', cause: cut });
    availability.failed(wrapped(new Error('Connection terminated unexpectedly')));
    expect(availability.available).toBe(false);
    expect(availability.health()).toMatchObject({ status: 'degraded', error: 'Failed query: update …' });
    expect(Date.parse(availability.health().since ?? '')).toBeLessThanOrEqual(Date.now());

    availability.succeeded();
    availability.succeeded();
    expect(availability.health()).toEqual({ status: 'ok' });
    expect(availability.downMs).toBe(0);
    expect(changes).toEqual([false, true]);
    expect(unreachable).toBe(2);
    availability.close();
  });
});

describe('a round the ledger cannot record', () => {
  it('delivers none of its ticks, and the meter goes back to what was delivered', async () => {
    const delivered: MeterTick[] = [];
    const failedRounds: (readonly TickRecord[])[] = [];
    const rewoundTo: unknown[] = [];
    let away = false;
    const ledger = {
      recordTicks: async (ticks: readonly TickRecord[]) => {
        if (away) throw new LedgerError('LEDGER_UNAVAILABLE', 'the ledger database cannot be reached');
        return new Set(ticks.map((t) => t.sessionId));
      },
    };
    let meter: TickMeter | undefined;
    const hooks = persistedTicks(ledger, (_id, tick) => delivered.push(tick), {
      onWriteFailed: (ticks) => {
        failedRounds.push(ticks);
        const last = delivered.at(-1);
        for (const t of ticks)
          meter?.rewind(t.sessionId, { seq: last?.seq ?? 0, watchedSeconds: last?.watchedSeconds ?? 0 });
        rewoundTo.push(meter?.state('viewer'));
      },
    });
    meter = new TickMeter({
      intervalMs: 50,
      onTick: hooks.onTick,
      afterRound: () => hooks.afterRound().catch(() => undefined),
    });
    const rounds = async (n: number) => {
      const target = (meter?.stats.rounds ?? 0) + n;
      while ((meter?.stats.rounds ?? 0) < target) await new Promise((r) => setTimeout(r, 5));
    };
    meter.add('viewer', { pricePerSecond: 7n, probe: () => true });
    await rounds(3);
    away = true;
    await rounds(4);
    const before = delivered.length;
    await rounds(4);
    expect(delivered.length).toBe(before);
    expect(failedRounds.length).toBeGreaterThanOrEqual(4);
    const expected = { seq: before, watchedSeconds: before, owed: BigInt(before) * 7n, paused: false };
    expect(rewoundTo).toEqual(rewoundTo.map(() => expected));
    away = false;
    await rounds(3);
    await meter.close();
    // After the outage the count follows on from the last tick delivered: one second a tick, none twice.
    for (const [i, t] of delivered.entries()) {
      expect(t).toMatchObject({ seq: i + 1, watchedSeconds: i + 1, owed: BigInt(i + 1) * 7n });
    }
    expect(delivered.length).toBeGreaterThan(before);
    expect(meter.rewind('gone', { seq: 0, watchedSeconds: 0 })).toBe(false);
  });
});
