import type { Logger } from 'pino';
import { isDatabaseUnreachable } from '../ledger/availability.ts';
import type { Ledger, LedgerSession } from '../ledger/Ledger.ts';
import type { LeaveTotals } from './creatorEvents.ts';
import type { ViewerSession } from './ViewerSession.ts';

/** Totals of a closed ledger session as `viewer:leave` answers them. */
export function totalsOf(s: LedgerSession): LeaveTotals {
  const settled = (s.settledPending + s.settledFinal).toString();
  return { owed: s.owed.toString(), settled, watchedSeconds: s.watchedSeconds };
}

/**
 * Closes ended sessions in the ledger. A session that ends while the ledger's database is away (leave, idle release,
 * stream end) still ends: it is answered with its totals as this node holds them, and closed in the ledger once the
 * database answers again — unless it is joined again first.
 */
export class LedgerClose {
  readonly #pending = new Set<string>();
  #retrying = false;

  constructor(
    private readonly ledger: Pick<Ledger, 'closeSession' | 'availability'>,
    /** Runs `op` inside the session's lifecycle lock (join, leave and this close never interleave). */
    private readonly lock: (sessionId: string, op: () => Promise<void>) => Promise<void>,
    private readonly log: Logger,
  ) {}

  /** Sessions whose close waits for the database. */
  get pending(): number {
    return this.#pending.size;
  }

  /**
   * Runs `charge` (what the session owes last), then closes the session in the ledger and answers its stored totals.
   * With the database away, answers the totals of `s` instead and closes it later.
   */
  async close(s: ViewerSession, charge: () => Promise<void>): Promise<LeaveTotals> {
    try {
      await charge();
      return totalsOf(await this.ledger.closeSession(s.sessionId));
    } catch (err) {
      if (!isDatabaseUnreachable(err)) throw err;
      // Why: every tick the viewer was sent is recorded, so its own totals are the ledger's; leaving must not wait.
      this.#pending.add(s.sessionId);
      this.log.warn({ sessionId: s.sessionId }, 'session ended while the ledger is away: closed in it later');
      return { owed: s.owed.toString(), settled: s.settled.toString(), watchedSeconds: s.watchedSeconds };
    }
  }

  /** The session is joined again (inside its lifecycle lock): it stays open. */
  cancel(sessionId: string): void {
    this.#pending.delete(sessionId);
  }

  /** Closes the waiting sessions once the database answers (called each tick round; one pass at a time). */
  retry(): void {
    if (this.#retrying || this.#pending.size === 0 || !this.ledger.availability.available) return;
    this.#retrying = true;
    void (async () => {
      for (const sessionId of [...this.#pending]) {
        await this.lock(sessionId, async () => {
          if (!this.#pending.has(sessionId)) return;
          await this.ledger.closeSession(sessionId);
          this.#pending.delete(sessionId);
        }).catch((err: unknown) => {
          if (isDatabaseUnreachable(err)) return;
          this.#pending.delete(sessionId);
          this.log.error({ err, sessionId }, 'could not close an ended session in the ledger');
        });
      }
    })().finally(() => {
      this.#retrying = false;
    });
  }
}
