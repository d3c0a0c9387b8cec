import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import type { Ledger, TickRecord } from '../ledger/Ledger.ts';
import type { MeterTick, TickMeterOptions } from './TickMeter.ts';

/** The `onTick` and `afterRound` of a TickMeter whose ticks are delivered once written. */
export interface PersistedTickHooks {
  onTick: TickMeterOptions['onTick'];
  /** Writes the round's ticks, then delivers the recorded ones; rejects (delivering none) if the write fails. */
  afterRound(): Promise<void>;
}

/** How recorded ticks are delivered. */
export interface PersistedTickOptions {
  /**
   * Ticks delivered per turn of the event loop (default `DEFAULT_DELIVERY_CHUNK`): the answers to the first ones are
   * read between chunks instead of queueing behind the whole round.
   */
  chunk?: number;
  /**
   * Spreads a round's chunks over this many ms (default 0: one chunk per turn, as fast as the loop goes). Each viewer
   * keeps its place in the round, so its ticks stay a round apart; the viewers' answers arrive spread out too.
   */
  spreadMs?: number;
  /** The round's write failed (e.g. the database is away): none of `ticks` was recorded or is delivered. */
  onWriteFailed?(ticks: readonly TickRecord[], err: unknown): void;
}

/** Ticks delivered per turn of the event loop by default. */
export const DEFAULT_DELIVERY_CHUNK = 50;

/**
 * TickMeter hooks that write each round's ticks to the ledger in one statement and only then deliver the ticks the
 * ledger recorded (viewer ids are session ids), a chunk per turn of the event loop. A viewer is never told it owes
 * more than the ledger holds, so its voucher for a tick never exceeds the stored amount, and a replayed or refused
 * tick is never sent.
 */
export function persistedTicks(
  ledger: Pick<Ledger, 'recordTicks'>,
  deliver: (sessionId: string, tick: MeterTick) => void,
  opts: PersistedTickOptions = {},
): PersistedTickHooks {
  const chunk = opts.chunk ?? DEFAULT_DELIVERY_CHUNK;
  const spreadMs = opts.spreadMs ?? 0;
  if (!Number.isSafeInteger(chunk) || chunk < 1) throw new RangeError('chunk must be an integer ≥ 1');
  if (!(spreadMs >= 0)) throw new RangeError('spreadMs must be ≥ 0');
  let round: TickRecord[] = [];
  return {
    onTick(sessionId, tick) {
      round.push({ sessionId, seq: tick.seq, watchedSeconds: tick.watchedSeconds, owed: tick.owed });
    },
    async afterRound() {
      if (round.length === 0) return;
      const batch = round;
      round = [];
      let recorded: ReadonlySet<string>;
      try {
        recorded = await ledger.recordTicks(batch);
      } catch (err) {
        opts.onWriteFailed?.(batch, err);
        throw err;
      }
      const chunks = Math.ceil(batch.length / chunk);
      const gapMs = chunks > 1 ? spreadMs / (chunks - 1) : 0;
      for (let i = 0; i < batch.length; i++) {
        // A turn of the loop before each chunk, the first too: what queued behind the write goes first.
        if (i % chunk === 0) await (i > 0 && gapMs >= 1 ? sleep(gapMs) : nextTurn());
        const t = batch[i] as TickRecord;
        if (recorded.has(t.sessionId)) deliver(t.sessionId, t);
      }
    },
  };
}
