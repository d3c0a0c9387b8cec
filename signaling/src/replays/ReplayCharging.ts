import type { Logger } from 'pino';
import type { HlsCredit } from '../hlsEdge/HlsCredit.ts';
import type { WatchedSegments } from './WatchedSegments.ts';

/** What charging reads and credits of a viewer session. */
export interface ChargedSession {
  readonly mode: string;
  readonly closed: boolean;
  readonly hls: HlsCredit;
  readonly watched: WatchedSegments;
}

/** A segment number delivered to a replay session, as kept in the ledger's database. */
export interface WatchedRow {
  sessionId: string;
  seq: number;
}

/**
 * Charges replay sessions for what the HLS edge delivered (`deliver`, one call per edge report): each segment
 * number a session had not been charged for is kept in the ledger's database first, and only then credited (its
 * seconds, to the session's `HlsCredit`, which the meter ticks). So a crash can leave a second kept and never charged
 * (the creator's loss), never one charged twice; a report that cannot be kept is served uncharged. Reports are taken
 * one at a time, in order.
 */
export class ReplayCharging {
  #queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly find: (sessionId: string) => ChargedSession | undefined,
    private readonly keep: (rows: readonly WatchedRow[]) => Promise<void>,
    /** Seconds one segment stands for (`HLS_SEGMENT_SECONDS`). */
    private readonly segmentSeconds: number,
    private readonly log: Logger,
  ) {}

  /** Takes an edge report's replay segments, by session. */
  deliver(segments: Readonly<Record<string, readonly number[]>>): void {
    // A report that fails in any way is logged and skipped: the ones after it still run.
    this.#queue = this.#queue
      .then(() => this.#deliver(segments))
      .catch((err: unknown) => this.log.warn({ err }, 'a replay delivery report failed: not charged'));
  }

  /** Resolves once every report taken so far was kept and credited (or given up). */
  settled(): Promise<void> {
    return this.#queue;
  }

  async #deliver(segments: Readonly<Record<string, readonly number[]>>): Promise<void> {
    const fresh: { s: ChargedSession; seqs: number[] }[] = [];
    const rows: WatchedRow[] = [];
    for (const sessionId in segments) {
      const s = this.find(sessionId);
      if (s?.mode !== 'replay' || s.closed) continue;
      const seqs = s.watched.fresh(segments[sessionId] ?? []);
      if (seqs.length === 0) continue;
      fresh.push({ s, seqs });
      for (const seq of seqs) rows.push({ sessionId, seq });
    }
    if (rows.length === 0) return;
    try {
      await this.keep(rows);
    } catch (err) {
      this.log.warn({ err, segments: rows.length }, 'replay segments not kept: served and not charged');
      return;
    }
    for (const { s, seqs } of fresh) {
      s.watched.add(seqs);
      s.hls.add(seqs.length * this.segmentSeconds);
    }
  }
}
