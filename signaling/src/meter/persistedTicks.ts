import type { Ledger } from '../ledger/Ledger.ts';
import type { MeterTick, TickMeterOptions } from './TickMeter.ts';

/** The `onTick` and `afterRound` of a TickMeter whose ticks are delivered once written. */
export interface PersistedTickHooks {
  onTick: TickMeterOptions['onTick'];
  /** Writes the round's ticks, then delivers the recorded ones; rejects (delivering none) if the write fails. */
  afterRound(): Promise<void>;
}

/**
 * TickMeter hooks that write each round's ticks to the ledger in one statement and only then deliver the ticks the
 * ledger recorded (viewer ids are session ids). A viewer is never told it owes more than the ledger holds, so its
 * voucher for a tick never exceeds the stored amount, and a replayed or refused tick is never sent.
 */
export function persistedTicks(
  ledger: Pick<Ledger, 'recordTicks'>,
  deliver: (sessionId: string, tick: MeterTick) => void,
): PersistedTickHooks {
  const ids: string[] = [];
  const ticks: MeterTick[] = [];
  return {
    onTick(sessionId, tick) {
      ids.push(sessionId);
      ticks.push(tick);
    },
    async afterRound() {
      if (ids.length === 0) return;
      const batch = ids.map((sessionId, i) => ({ sessionId, ...(ticks[i] as MeterTick) }));
      const roundIds = ids.splice(0);
      const roundTicks = ticks.splice(0);
      const recorded = await ledger.recordTicks(batch);
      for (let i = 0; i < roundIds.length; i++) {
        const id = roundIds[i] as string;
        if (recorded.has(id)) deliver(id, roundTicks[i] as MeterTick);
      }
    },
  };
}
