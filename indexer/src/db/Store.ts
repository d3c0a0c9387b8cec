import type { Asset, ProtocolEvent } from '@persecond/contracts-client';
import { and, eq, gt, lte, sql } from 'drizzle-orm';
import type { BlockId, IndexedBlock } from '../chain/IndexedBlock.ts';
import { IndexerError } from '../errors.ts';
import type { Db } from './database.ts';
import { insertRowsAsJson } from './insertRows.ts';
import { blocks, cursor, sessions, settlements, streams, tips } from './schema.ts';

const CURSOR_ID = 'main';

/** The indexer's position. */
export interface Cursor {
  /** Last block written. */
  readonly head: BlockId;
  /** Last block marked final (0 and an empty hash before any). */
  readonly finalized: BlockId;
}

/** Counts of rows handed to the database by one batch (insert-or-ignore: replays insert nothing new). */
export type WrittenCounts = Record<ProtocolEvent['type'], number>;

function assetText(asset: Asset): string {
  return asset === 'native' ? 'native' : String(asset);
}

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/** Reads and writes the indexed chain; every write is one transaction that also moves the cursor. */
export class Store {
  constructor(readonly db: Db) {}

  /** The cursor, or undefined before the first batch. */
  async cursor(): Promise<Cursor | undefined> {
    const [row] = await this.db.select().from(cursor).where(eq(cursor.id, CURSOR_ID));
    if (!row) return undefined;
    return {
      head: { number: row.height, hash: row.hash },
      finalized: { number: row.finalizedHeight, hash: row.finalizedHash },
    };
  }

  /** Hash of the stored block at `number`, if any. */
  async hashAt(number: number): Promise<string | undefined> {
    const [row] = await this.db.select({ hash: blocks.hash }).from(blocks).where(eq(blocks.number, number));
    return row?.hash;
  }

  /**
   * Writes consecutive blocks, their protocol events and the cursor in one transaction, and marks everything up to
   * `finalHeight` final (rows of the batch at or below it are inserted final). Rows are keyed by chain position and
   * inserted-or-ignored, so replaying a batch is harmless; each table's rows go in one INSERT (insertRows.ts).
   */
  async writeBatch(batch: readonly IndexedBlock[], finalHeight: number): Promise<WrittenCounts> {
    const counts: WrittenCounts = { announcement: 0, funding: 0, refund: 0, settlement: 0, tip: 0 };
    const last = batch.at(-1);
    if (!last) return counts;
    const timeOf = new Map(batch.map((b) => [b.hash, b.time]));
    const announcementRows: (typeof streams.$inferInsert)[] = [];
    const sessionRows: (typeof sessions.$inferInsert)[] = [];
    const settlementRows: (typeof settlements.$inferInsert)[] = [];
    const tipRows: (typeof tips.$inferInsert)[] = [];
    for (const b of batch) {
      for (const e of b.events) {
        counts[e.type]++;
        const ref = {
          // Rows of blocks already final are written final: no update pass over them afterwards.
          status: e.blockNumber <= finalHeight ? ('final' as const) : ('pending' as const),
          id: e.id,
          blockNumber: e.blockNumber,
          blockHash: e.blockHash,
          extrinsicIndex: e.extrinsicIndex,
          eventIndex: e.eventIndex,
          extrinsicHash: e.extrinsicHash,
          blockTime: timeOf.get(e.blockHash) ?? b.time,
        };
        switch (e.type) {
          case 'announcement':
            announcementRows.push({ ...ref, streamId: e.streamId, creator: e.creator, metadataCid: e.metadataCid });
            break;
          case 'funding':
          case 'refund':
            sessionRows.push({
              ...ref,
              kind: e.type === 'funding' ? 'fund' : 'refund',
              sessionId: e.sessionId,
              wallet: e.wallet,
              sessionAccount: e.sessionAccount,
              asset: assetText(e.asset),
              amount: e.amount,
            });
            break;
          case 'settlement':
            settlementRows.push({
              ...ref,
              kind: e.sessionKind,
              streamId: e.streamId,
              sessionId: e.sessionId,
              seq: e.seq,
              payer: e.payer,
              creator: e.creator,
              asset: assetText(e.asset),
              amount: e.amount,
            });
            break;
          case 'tip':
            tipRows.push({
              ...ref,
              streamId: e.streamId,
              messageId: e.messageId,
              tipper: e.from,
              creator: e.creator,
              asset: assetText(e.asset),
              amount: e.amount,
            });
            break;
        }
      }
    }
    const blockRows = batch.map((b) => ({
      number: b.number,
      hash: b.hash,
      parentHash: b.parentHash,
      blockTime: b.time,
      status: b.number <= finalHeight ? ('final' as const) : ('pending' as const),
    }));
    await this.db.transaction(async (tx) => {
      await insertRowsAsJson(tx, blocks, blockRows);
      await insertRowsAsJson(tx, streams, announcementRows);
      await insertRowsAsJson(tx, sessions, sessionRows);
      await insertRowsAsJson(tx, settlements, settlementRows);
      await insertRowsAsJson(tx, tips, tipRows);
      const head = { height: last.number, hash: last.hash };
      await tx
        .insert(cursor)
        .values({ id: CURSOR_ID, ...head, finalizedHeight: 0, finalizedHash: '' })
        .onConflictDoUpdate({ target: cursor.id, set: { ...head, updatedAt: sql`now()` } });
      await this.#finalize(tx, finalHeight);
    });
    return counts;
  }

  /** Marks every stored block up to `height` (capped at the head) and its rows final; never un-finalizes. */
  async finalize(height: number): Promise<void> {
    await this.db.transaction((tx) => this.#finalize(tx, height));
  }

  async #finalize(tx: Tx, height: number): Promise<void> {
    const [row] = await tx.select().from(cursor).where(eq(cursor.id, CURSOR_ID)).for('update');
    if (!row) return;
    const target = Math.min(height, row.height);
    if (target <= row.finalizedHeight && row.finalizedHash !== '') return;
    const [block] = await tx.select({ hash: blocks.hash }).from(blocks).where(eq(blocks.number, target));
    if (!block) return;
    // Everything at or below the previous final height is final already: only the blocks above it can change, so a
    // round touches its new rows, not every row of the chain.
    const above = row.finalizedHash === '' ? -1 : row.finalizedHeight;
    const pendingUpTo = (t: typeof blocks | typeof streams | typeof sessions | typeof settlements | typeof tips) => {
      const number = 'number' in t ? t.number : t.blockNumber;
      return and(eq(t.status, 'pending'), gt(number, above), lte(number, target));
    };
    await tx.update(blocks).set({ status: 'final' }).where(pendingUpTo(blocks));
    await tx.update(streams).set({ status: 'final' }).where(pendingUpTo(streams));
    await tx.update(sessions).set({ status: 'final' }).where(pendingUpTo(sessions));
    await tx.update(settlements).set({ status: 'final' }).where(pendingUpTo(settlements));
    await tx.update(tips).set({ status: 'final' }).where(pendingUpTo(tips));
    await tx
      .update(cursor)
      .set({ finalizedHeight: target, finalizedHash: block.hash, updatedAt: sql`now()` })
      .where(eq(cursor.id, CURSOR_ID));
  }

  /**
   * Removes every pending block above `height` with its rows and moves the cursor back to the block at `height`, in
   * one transaction. Refuses (FINALITY_VIOLATION) if a final block would have to go.
   */
  async rollbackTo(height: number): Promise<BlockId> {
    return this.db.transaction(async (tx) => {
      const [final] = await tx
        .select({ number: blocks.number })
        .from(blocks)
        .where(and(gt(blocks.number, height), eq(blocks.status, 'final')))
        .limit(1);
      if (final) {
        throw new IndexerError(
          'FINALITY_VIOLATION',
          `block ${final.number} is final; refusing to roll back to ${height}`,
        );
      }
      const [keep] = await tx.select({ hash: blocks.hash }).from(blocks).where(eq(blocks.number, height));
      await tx.delete(streams).where(gt(streams.blockNumber, height));
      await tx.delete(sessions).where(gt(sessions.blockNumber, height));
      await tx.delete(settlements).where(gt(settlements.blockNumber, height));
      await tx.delete(tips).where(gt(tips.blockNumber, height));
      await tx.delete(blocks).where(gt(blocks.number, height));
      if (keep) {
        await tx.update(cursor).set({ height, hash: keep.hash, updatedAt: sql`now()` }).where(eq(cursor.id, CURSOR_ID));
      } else {
        await tx.delete(cursor).where(eq(cursor.id, CURSOR_ID));
      }
      return { number: height, hash: keep?.hash ?? '' };
    });
  }
}
