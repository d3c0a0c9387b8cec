import { and, desc, eq, inArray, isNull, lt } from 'drizzle-orm';
import type { Ledger } from '../ledger/Ledger.ts';
import { chatBans, chatMessages, chatModActions, chatModerators } from './schema.ts';
import type { ChatModAction, ChatModActionKind } from './wire.ts';

/** A wallet's standing ban (`until` null) or timeout (`until` ms since epoch) in a creator's streams. */
export interface ChatBan {
  until: number | null;
  by: string;
  at: number;
}

/** An action to record (the store gives it its id). */
export type NewModAction = Omit<ChatModAction, 'id'> & { creator: string };

type ActionRow = typeof chatModActions.$inferSelect;

function toAction(row: ActionRow): ChatModAction {
  return {
    id: row.id.toString(),
    streamId: row.streamId,
    actor: row.actor,
    action: row.action as ChatModActionKind,
    target: row.target,
    details: row.details as Record<string, string>,
    at: row.at,
  };
}

/**
 * Moderation state in the signaling database, per creator (so it holds across its streams, nodes and restarts):
 * moderators (`chat_moderators`), bans and timeouts (`chat_bans`), the action log (`chat_mod_actions`), and the
 * deletion marks of messages. Addresses are in the protocol's SS58 format.
 */
export class ModerationStore {
  constructor(private readonly ledger: Ledger) {}

  /** The creator's moderators, oldest first. */
  moderators(creator: string): Promise<string[]> {
    return this.ledger.use(async (db) => {
      const rows = await db
        .select({ wallet: chatModerators.wallet })
        .from(chatModerators)
        .where(eq(chatModerators.creator, creator))
        .orderBy(chatModerators.addedAt, chatModerators.wallet);
      return rows.map((r) => r.wallet);
    });
  }

  /** Whether `wallet` moderates the creator's streams. */
  isModerator(creator: string, wallet: string): Promise<boolean> {
    return this.ledger.use(async (db) => {
      const [row] = await db
        .select({ wallet: chatModerators.wallet })
        .from(chatModerators)
        .where(and(eq(chatModerators.creator, creator), eq(chatModerators.wallet, wallet)));
      return row !== undefined;
    });
  }

  /** Adds and removes moderators of a creator in one transaction; answers the list after. */
  setModerators(creator: string, add: readonly string[], remove: readonly string[]): Promise<string[]> {
    return this.ledger.use(async (db) => {
      await db.transaction(async (tx) => {
        if (remove.length > 0) {
          await tx
            .delete(chatModerators)
            .where(and(eq(chatModerators.creator, creator), inArray(chatModerators.wallet, [...remove])));
        }
        if (add.length > 0) {
          await tx
            .insert(chatModerators)
            .values(add.map((wallet) => ({ creator, wallet })))
            .onConflictDoNothing();
        }
      });
      return this.moderators(creator);
    });
  }

  /** The wallet's ban or timeout in the creator's streams, if one is recorded (an expired timeout included). */
  ban(creator: string, wallet: string): Promise<ChatBan | undefined> {
    return this.ledger.use(async (db) => {
      const [row] = await db
        .select({ until: chatBans.until, by: chatBans.by, at: chatBans.at })
        .from(chatBans)
        .where(and(eq(chatBans.creator, creator), eq(chatBans.wallet, wallet)));
      return row;
    });
  }

  /** Every ban and timeout recorded in the creator's streams, by wallet (expired timeouts included). */
  bans(creator: string): Promise<Map<string, ChatBan>> {
    return this.ledger.use(async (db) => {
      const rows = await db
        .select({ wallet: chatBans.wallet, until: chatBans.until, by: chatBans.by, at: chatBans.at })
        .from(chatBans)
        .where(eq(chatBans.creator, creator));
      return new Map(rows.map(({ wallet, ...ban }) => [wallet, ban]));
    });
  }

  /** Bans (`until` null) or times out a wallet, replacing what was recorded. */
  setBan(creator: string, wallet: string, ban: ChatBan): Promise<void> {
    return this.ledger.use(async (db) => {
      await db
        .insert(chatBans)
        .values({ creator, wallet, ...ban })
        .onConflictDoUpdate({ target: [chatBans.creator, chatBans.wallet], set: ban });
    });
  }

  /** Lifts a wallet's ban or timeout; whether one was recorded. */
  liftBan(creator: string, wallet: string): Promise<boolean> {
    return this.ledger.use(async (db) => {
      const rows = await db
        .delete(chatBans)
        .where(and(eq(chatBans.creator, creator), eq(chatBans.wallet, wallet)))
        .returning({ wallet: chatBans.wallet });
      return rows.length > 0;
    });
  }

  /** A message of the stream: its sender and whether it was deleted; undefined when the stream has no such message. */
  message(streamId: string, messageId: bigint): Promise<{ sender: string; deleted: boolean } | undefined> {
    return this.ledger.use(async (db) => {
      const [row] = await db
        .select({ sender: chatMessages.sender, deletedAt: chatMessages.deletedAt })
        .from(chatMessages)
        .where(and(eq(chatMessages.id, messageId), eq(chatMessages.streamId, streamId)));
      return row && { sender: row.sender, deleted: row.deletedAt !== null };
    });
  }

  /** Marks a message of the stream deleted (kept in the database); whether it was shown until now. */
  deleteMessage(streamId: string, messageId: bigint, by: string, at: number): Promise<boolean> {
    return this.ledger.use(async (db) => {
      const rows = await db
        .update(chatMessages)
        .set({ deletedAt: at, deletedBy: by })
        .where(and(eq(chatMessages.id, messageId), eq(chatMessages.streamId, streamId), isNull(chatMessages.deletedAt)))
        .returning({ id: chatMessages.id });
      return rows.length > 0;
    });
  }

  /** Records an action and answers it with its id. */
  record(action: NewModAction): Promise<ChatModAction> {
    return this.ledger.use(async (db) => {
      const [row] = await db.insert(chatModActions).values(action).returning();
      if (!row) throw new Error('a moderation action was not recorded');
      return toAction(row);
    });
  }

  /** Up to `limit` actions in the creator's streams before action `before`, newest first; `more` if older remain. */
  log(creator: string, limit: number, before?: bigint): Promise<{ actions: ChatModAction[]; more: boolean }> {
    return this.ledger.use(async (db) => {
      const where =
        before === undefined
          ? eq(chatModActions.creator, creator)
          : and(eq(chatModActions.creator, creator), lt(chatModActions.id, before));
      const rows = await db
        .select()
        .from(chatModActions)
        .where(where)
        .orderBy(desc(chatModActions.id))
        .limit(limit + 1);
      return { actions: rows.slice(0, limit).map(toAction), more: rows.length > limit };
    });
  }
}
