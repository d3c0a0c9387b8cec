import { type Asset, type SessionKind, U128_MAX, type WatchedBlock } from '@persecond/contracts-client';
import { and, eq, sql } from 'drizzle-orm';
import { sameAccount } from '../accounts.ts';
import type { LedgerDb } from './database.ts';
import { LedgerError } from './errors.ts';
import { recordFunding, retractFundings } from './fundings.ts';
import { isPermanentFailure, type QuarantinedEvent, quarantine, retractQuarantined } from './quarantine.ts';
import { assetText, checkAmount, checkCount } from './rows.ts';
import { settlementCredits, viewerSessions, watcherCursor } from './schema.ts';

/** A settlement seen on chain (a contracts-client `SettlementEvent` fits). */
export interface SettlementCreditInput {
  /** Chain-derived id `<blockHash>:<extrinsicIndex>:<eventIndex>`. */
  id: string;
  sessionId: string;
  streamId: string;
  /** The account that paid; only the session account's payments count. */
  payer: string;
  /** The account paid; only payments to the stream's creator count. */
  creator: string;
  asset: Asset;
  amount: bigint;
  blockNumber: number;
  blockHash: string;
  /** What the remark pays for (default `live`): only a session of that kind is credited (`ps1:replay` for a replay). */
  sessionKind?: SessionKind;
}

/**
 * What a credit did: `credited` (new), `finalized` (pending → final), `unchanged` (already known at that status, or
 * final already), `ignored` (unknown session, not a payment from its session account to its creator, or a payment
 * remark of the other session kind: `ps1:pay` for a replay session, `ps1:replay` for a live one).
 */
export type CreditOutcome = 'credited' | 'finalized' | 'unchanged' | 'ignored';

/** Last final block whose settlements were credited, on the chain of `genesisHash`. */
export interface WatcherCursor {
  genesisHash: string;
  number: number;
  hash: string;
}

/** A change of a session's settled totals caused by the chain. */
export interface SettlementChange {
  sessionId: string;
  outcome: Exclude<CreditOutcome, 'unchanged' | 'ignored'> | 'retracted';
}

/** What applying one delivery of a block did. */
export interface AppliedBlock {
  /** Every settlement's outcome, in block order (for metrics). */
  outcomes: CreditOutcome[];
  /** Sessions whose settled totals changed. */
  changes: SettlementChange[];
  /** Events set aside because they cannot be applied. */
  quarantined: QuarantinedEvent[];
}

const CURSOR_ID = 'settlements';

/**
 * Credits a settlement inside the caller's transaction, idempotently by its id: a new one adds to the session's
 * pending or final total; `final` moves a pending one to final; a final credit never changes again. Refuses
 * (AMOUNT_OUT_OF_RANGE) a credit that would take the session's settled total past u128, so no sum can overflow.
 */
export async function creditSettlement(
  tx: LedgerDb,
  credit: SettlementCreditInput,
  status: 'pending' | 'final',
): Promise<CreditOutcome> {
  checkAmount('amount', credit.amount);
  checkCount('blockNumber', credit.blockNumber, 0);
  // Locking the session row serializes every credit of this session, across nodes sharing the database.
  const [session] = await tx
    .select()
    .from(viewerSessions)
    .where(eq(viewerSessions.sessionId, credit.sessionId))
    .for('update');
  if (
    !session ||
    session.streamId !== credit.streamId ||
    session.asset !== assetText(credit.asset) ||
    !sameAccount(session.sessionAccount, credit.payer) ||
    !sameAccount(session.creator, credit.creator) ||
    session.kind !== (credit.sessionKind ?? 'live')
  ) {
    return 'ignored';
  }
  const [existing] = await tx.select().from(settlementCredits).where(eq(settlementCredits.id, credit.id));
  if (!existing) {
    if (session.settledPending + session.settledFinal + credit.amount > U128_MAX) {
      throw new LedgerError(
        'AMOUNT_OUT_OF_RANGE',
        `crediting ${credit.amount} would take the settled total of session ${credit.sessionId} past u128`,
      );
    }
    await tx.insert(settlementCredits).values({
      id: credit.id,
      sessionId: credit.sessionId,
      amount: credit.amount,
      status,
      blockNumber: credit.blockNumber,
      blockHash: credit.blockHash,
    });
    const column = status === 'final' ? viewerSessions.settledFinal : viewerSessions.settledPending;
    await tx
      .update(viewerSessions)
      .set({
        [status === 'final' ? 'settledFinal' : 'settledPending']: sql`${column} + ${credit.amount.toString()}::numeric`,
        updatedAt: sql`now()`,
      })
      .where(eq(viewerSessions.sessionId, credit.sessionId));
    return 'credited';
  }
  if (existing.status === 'final' || status === 'pending') return 'unchanged';
  await tx
    .update(settlementCredits)
    .set({ status: 'final', updatedAt: sql`now()` })
    .where(eq(settlementCredits.id, credit.id));
  const amount = existing.amount.toString();
  await tx
    .update(viewerSessions)
    .set({
      settledPending: sql`${viewerSessions.settledPending} - ${amount}::numeric`,
      settledFinal: sql`${viewerSessions.settledFinal} + ${amount}::numeric`,
      updatedAt: sql`now()`,
    })
    .where(eq(viewerSessions.sessionId, credit.sessionId));
  return 'finalized';
}

/**
 * Removes, inside the caller's transaction, the pending credits, fundings and quarantined events of a block that
 * lost a fork (final ones never change); returns the sessions whose credits were removed.
 */
export async function retractBlock(tx: LedgerDb, blockHash: string): Promise<string[]> {
  await retractFundings(tx, blockHash);
  await retractQuarantined(tx, blockHash);
  const removed = await tx
    .delete(settlementCredits)
    .where(and(eq(settlementCredits.blockHash, blockHash), eq(settlementCredits.status, 'pending')))
    .returning();
  for (const credit of removed) {
    await tx
      .update(viewerSessions)
      .set({
        settledPending: sql`${viewerSessions.settledPending} - ${credit.amount.toString()}::numeric`,
        updatedAt: sql`now()`,
      })
      .where(eq(viewerSessions.sessionId, credit.sessionId));
  }
  return [...new Set(removed.map((c) => c.sessionId))];
}

/** Where crediting stopped: the settlement watcher resumes after this final block. */
export async function readCursor(db: LedgerDb): Promise<WatcherCursor | undefined> {
  const [row] = await db.select().from(watcherCursor).where(eq(watcherCursor.id, CURSOR_ID));
  return row ? { genesisHash: row.genesisHash, number: row.blockNumber, hash: row.blockHash } : undefined;
}

/** Stores the settlement watcher's cursor. */
export async function saveCursor(db: LedgerDb, cursor: WatcherCursor): Promise<void> {
  checkCount('number', cursor.number, 0);
  const values = {
    id: CURSOR_ID,
    genesisHash: cursor.genesisHash,
    blockNumber: cursor.number,
    blockHash: cursor.hash,
    updatedAt: new Date(),
  };
  await db.insert(watcherCursor).values(values).onConflictDoUpdate({ target: watcherCursor.id, set: values });
}

/**
 * Applies one watcher delivery in one transaction (squid-style): the block's settlements and fundings, or its
 * retraction, and `cursor` when given, so a restart resumes exactly after what was written. Each event runs in its own
 * savepoint: one that cannot be applied for good (see isPermanentFailure) is quarantined and the block carries on;
 * any other failure rolls the whole block back and rejects (the watcher restarts from its cursor).
 */
export async function applyBlock(db: LedgerDb, delivery: WatchedBlock, cursor?: WatcherCursor): Promise<AppliedBlock> {
  const applied: AppliedBlock = { outcomes: [], changes: [], quarantined: [] };
  if (delivery.status === 'retracted') {
    const sessions = await db.transaction((tx) => retractBlock(tx, delivery.block.hash));
    for (const sessionId of sessions) applied.changes.push({ sessionId, outcome: 'retracted' });
    return applied;
  }
  const { status, block } = delivery;
  const events = block.events.filter((e) => e.type === 'settlement' || e.type === 'funding');
  if (events.length === 0 && !cursor) return applied;
  await db.transaction(async (tx) => {
    for (const event of events) {
      try {
        const outcome = await tx.transaction(async (savepoint) =>
          event.type === 'settlement'
            ? creditSettlement(savepoint, event, status)
            : recordFunding(savepoint, event, status).then(() => undefined),
        );
        if (!outcome) continue;
        applied.outcomes.push(outcome);
        if (outcome === 'credited' || outcome === 'finalized') {
          applied.changes.push({ sessionId: event.sessionId, outcome });
        }
      } catch (err) {
        if (!isPermanentFailure(err)) throw err;
        applied.quarantined.push(await quarantine(tx, event, status, err));
      }
    }
    if (cursor) await saveCursor(tx, cursor);
  });
  return applied;
}
