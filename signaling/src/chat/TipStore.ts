import { and, eq, inArray, like, sql } from 'drizzle-orm';
import type { Ledger } from '../ledger/Ledger.ts';
import type { MessageRow } from './ChatStore.ts';
import { chatMessages } from './schema.ts';
import type { ChatTipStatus } from './wire.ts';

/** A stream's tips on chain (planck): in a block and final. */
export interface TipTotals {
  pending: bigint;
  final: bigint;
}

/** A tip's state change, as the chain reported it: its amount and where (the event's `<block>:<extrinsic>:<event>`). */
export interface TipAdvance {
  to: 'pending' | 'final';
  amount: bigint;
  tx: string;
}

/**
 * The tip columns of `chat_messages` (`tip_asset`, `tip_amount`, `tip_tx`, `tip_status`): each change is a compare and
 * set on the status, so a tip event seen twice (a watcher replay, or two nodes on one database) counts once.
 */
export class TipStore {
  constructor(private readonly ledger: Ledger) {}

  /** The stored message with this id, if any. */
  row(id: bigint): Promise<MessageRow | undefined> {
    return this.ledger.use(async (db) => {
      const [row] = await db.select().from(chatMessages).where(eq(chatMessages.id, id));
      return row;
    });
  }

  /** Moves a message's tip on from status `from`; undefined when it is no longer in that status. */
  advance(id: bigint, from: ChatTipStatus, change: TipAdvance): Promise<MessageRow | undefined> {
    return this.ledger.use(async (db) => {
      const [row] = await db
        .update(chatMessages)
        .set({ tipStatus: change.to, tipAmount: change.amount, tipTx: change.tx })
        .where(and(eq(chatMessages.id, id), eq(chatMessages.tipStatus, from)))
        .returning();
      return row;
    });
  }

  /** Turns the pending tips of a retracted block back to unsigned; answers the messages changed. */
  retract(blockHash: string): Promise<MessageRow[]> {
    return this.ledger.use((db) =>
      db
        .update(chatMessages)
        .set({ tipStatus: 'unsigned', tipTx: null })
        .where(and(eq(chatMessages.tipStatus, 'pending'), like(chatMessages.tipTx, `${blockHash}:%`)))
        .returning(),
    );
  }

  /** Σ a stream's tips pending and final: one query on the partial index of tipped messages. */
  totals(streamId: string): Promise<TipTotals> {
    return this.ledger.use(async (db) => {
      const rows = await db
        .select({ status: chatMessages.tipStatus, sum: sql<string>`coalesce(sum(${chatMessages.tipAmount}), 0)::text` })
        .from(chatMessages)
        .where(and(eq(chatMessages.streamId, streamId), inArray(chatMessages.tipStatus, ['pending', 'final'])))
        .groupBy(chatMessages.tipStatus);
      const sumOf = (status: string) => BigInt(rows.find((r) => r.status === status)?.sum ?? '0');
      return { pending: sumOf('pending'), final: sumOf('final') };
    });
  }
}
