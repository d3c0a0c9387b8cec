import type { Asset } from '@persecond/contracts-client';
import { and, asc, eq, sql } from 'drizzle-orm';
import { canonicalAccount } from './accounts.ts';
import type { LedgerDb } from './database.ts';
import { assetOf, assetText, checkAmount, checkCount } from './rows.ts';
import { sessionFundings } from './schema.ts';

/** A funding seen on chain (a contracts-client `SessionFundedEvent` fits). */
export interface FundingInput {
  /** Chain-derived id `<blockHash>:<extrinsicIndex>:<eventIndex>`. */
  id: string;
  sessionId: string;
  /** The wallet that signed the funding. */
  wallet: string;
  /** The account funded. */
  sessionAccount: string;
  asset: Asset;
  amount: bigint;
  blockNumber: number;
  blockHash: string;
}

/** A funding as the ledger holds it: pending while its block is only in the best chain, final after. */
export interface FundingRecord {
  id: string;
  sessionId: string;
  wallet: string;
  sessionAccount: string;
  asset: Asset;
  amount: bigint;
  blockHash: string;
  blockNumber: number;
  status: 'pending' | 'final';
}

/** Records a funding idempotently by its chain id; `final` moves a pending one to final, never back. */
export async function recordFunding(db: LedgerDb, funding: FundingInput, status: 'pending' | 'final'): Promise<void> {
  checkAmount('amount', funding.amount);
  checkCount('blockNumber', funding.blockNumber, 0);
  await db
    .insert(sessionFundings)
    .values({
      id: funding.id,
      sessionId: funding.sessionId,
      wallet: canonicalAccount(funding.wallet),
      sessionAccount: canonicalAccount(funding.sessionAccount),
      asset: assetText(funding.asset),
      amount: funding.amount,
      status,
      blockNumber: funding.blockNumber,
      blockHash: funding.blockHash,
    })
    .onConflictDoUpdate({
      target: sessionFundings.id,
      set: { status: 'final', updatedAt: sql`now()` },
      setWhere: sql`${sessionFundings.status} = 'pending' and excluded.status = 'final'`,
    });
}

/** The recorded fundings of a session, in chain order. */
export async function fundingsOf(db: LedgerDb, sessionId: string): Promise<FundingRecord[]> {
  const rows = await db
    .select()
    .from(sessionFundings)
    .where(eq(sessionFundings.sessionId, sessionId))
    .orderBy(asc(sessionFundings.blockNumber), asc(sessionFundings.id));
  return rows.map((r) => ({
    id: r.id,
    sessionId: r.sessionId,
    wallet: r.wallet,
    sessionAccount: r.sessionAccount,
    asset: assetOf(r.asset),
    amount: r.amount,
    blockHash: r.blockHash,
    blockNumber: r.blockNumber,
    status: r.status,
  }));
}

/** Removes the pending fundings of a block that lost a fork (final ones never change). */
export async function retractFundings(db: LedgerDb, blockHash: string): Promise<number> {
  const removed = await db
    .delete(sessionFundings)
    .where(and(eq(sessionFundings.blockHash, blockHash), eq(sessionFundings.status, 'pending')))
    .returning({ id: sessionFundings.id });
  return removed.length;
}
