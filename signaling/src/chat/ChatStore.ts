import { and, desc, eq, isNull, lt, ne, or } from 'drizzle-orm';
import type { Ledger } from '../ledger/Ledger.ts';
import { chatMessages, chatSettings } from './schema.ts';
import type { ChatBadge, ChatMessage, ChatSettings, ChatTipStatus } from './wire.ts';

/** A stream without settings of its own: everything off. */
export const DEFAULT_CHAT_SETTINGS: ChatSettings = Object.freeze({ slowModeSeconds: 0, payingOnly: false });

/** A message to store (the store gives it its id), with the sender's client id if it sent one. */
export type NewChatMessage = Omit<ChatMessage, 'id' | 'tip'> & {
  clientId: string | null;
  /** A tipped message's tip as declared: the asset (`native` or the id as text), planck, `unsigned`. */
  tipAsset?: string;
  tipAmount?: bigint;
  tipStatus?: 'unsigned';
};

/** A stored message row. */
export type MessageRow = typeof chatMessages.$inferSelect;

/** A stored row as the wire's message (with its tip, for a tipped message). */
export function toMessage(row: MessageRow): ChatMessage {
  const message: ChatMessage = {
    id: row.id.toString(),
    streamId: row.streamId,
    sender: row.sender,
    displayName: row.displayName,
    badges: row.badges as ChatBadge[],
    text: row.text,
    sentAt: row.sentAt,
    mediaTime: row.mediaTime,
  };
  if (row.tipStatus !== null && row.tipAsset !== null && row.tipAmount !== null) {
    const asset = row.tipAsset === 'native' ? 'native' : Number(row.tipAsset);
    message.tip = { asset, amount: row.tipAmount.toString(), status: row.tipStatus as ChatTipStatus };
  }
  return message;
}

/**
 * Chat history and settings in the signaling database (the ledger's, tables `chat_messages` and `chat_settings` of
 * schema `signaling`), through the node's Ledger: PGlite by default, PostgreSQL with DATABASE_URL.
 */
export class ChatStore {
  constructor(private readonly ledger: Ledger) {}

  /**
   * Stores a message and answers it with its id; `fresh` false when the sender already stored one with the same
   * client id in this stream (that one is answered, nothing is added).
   */
  add(message: NewChatMessage): Promise<{ message: ChatMessage; fresh: boolean }> {
    return this.ledger.use(async (db) => {
      const [row] = await db.insert(chatMessages).values(message).onConflictDoNothing().returning();
      if (row) return { message: toMessage(row), fresh: true };
      const stored = message.clientId && (await this.byClientId(message.streamId, message.sender, message.clientId));
      if (!stored) throw new Error('a chat message conflicted with none stored');
      return { message: stored, fresh: false };
    });
  }

  /**
   * Stores messages with one multi-row insert and answers each with its id, in the order given; as `add` for each
   * (`fresh` false: the sender stored one with that client id already, answered from the database).
   */
  addMany(messages: readonly NewChatMessage[]): Promise<{ message: ChatMessage; fresh: boolean }[]> {
    if (messages.length === 0) return Promise.resolve([]);
    return this.ledger.use(async (db) => {
      const rows = await db
        .insert(chatMessages)
        .values([...messages])
        .onConflictDoNothing()
        .returning();
      // Rows back to the messages they store (a conflict returns no row): by sender, client id, time and text.
      const key = (m: { sender: string; clientId: string | null; sentAt: number; text: string }) =>
        `${m.sender}\u0000${m.clientId ?? ''}\u0000${m.sentAt}\u0000${m.text}`;
      const byKey = new Map<string, MessageRow[]>();
      for (const row of rows) {
        const k = key(row);
        const list = byKey.get(k);
        if (list) list.push(row);
        else byKey.set(k, [row]);
      }
      const out: { message: ChatMessage; fresh: boolean }[] = [];
      for (const m of messages) {
        const row = byKey.get(key(m))?.shift();
        if (row) {
          out.push({ message: toMessage(row), fresh: true });
          continue;
        }
        const stored = m.clientId && (await this.byClientId(m.streamId, m.sender, m.clientId));
        if (!stored) throw new Error('a chat message conflicted with none stored');
        out.push({ message: stored, fresh: false });
      }
      return out;
    });
  }

  /** The message `sender` stored in the stream with this client id, if any. */
  byClientId(streamId: string, sender: string, clientId: string): Promise<ChatMessage | undefined> {
    return this.ledger.use(async (db) => {
      const [row] = await db
        .select()
        .from(chatMessages)
        .where(
          and(
            eq(chatMessages.streamId, streamId),
            eq(chatMessages.sender, sender),
            eq(chatMessages.clientId, clientId),
          ),
        );
      return row && toMessage(row);
    });
  }

  /**
   * Up to `limit` messages of a stream before message `before` (all when absent), newest last, deleted ones and
   * unsigned tips left out; `more` if older remain.
   */
  page(streamId: string, limit: number, before?: bigint): Promise<{ messages: ChatMessage[]; more: boolean }> {
    return this.ledger.use(async (db) => {
      const shown = and(
        eq(chatMessages.streamId, streamId),
        isNull(chatMessages.deletedAt),
        or(isNull(chatMessages.tipStatus), ne(chatMessages.tipStatus, 'unsigned')),
      );
      const where = before === undefined ? shown : and(shown, lt(chatMessages.id, before));
      const rows = await db
        .select()
        .from(chatMessages)
        .where(where)
        .orderBy(desc(chatMessages.id))
        .limit(limit + 1);
      const more = rows.length > limit;
      return { messages: rows.slice(0, limit).reverse().map(toMessage), more };
    });
  }

  /** A stream's settings (the defaults when its creator set none). */
  settings(streamId: string): Promise<ChatSettings> {
    return this.ledger.use(async (db) => {
      const [row] = await db
        .select({ slowModeSeconds: chatSettings.slowModeSeconds, payingOnly: chatSettings.payingOnly })
        .from(chatSettings)
        .where(eq(chatSettings.streamId, streamId));
      return row ?? DEFAULT_CHAT_SETTINGS;
    });
  }

  /** Sets a stream's settings (`by`: who) and answers them. */
  setSettings(streamId: string, settings: ChatSettings, by: string): Promise<ChatSettings> {
    return this.ledger.use(async (db) => {
      const values = { slowModeSeconds: settings.slowModeSeconds, payingOnly: settings.payingOnly };
      await db
        .insert(chatSettings)
        .values({ streamId, ...values, updatedBy: by })
        .onConflictDoUpdate({
          target: chatSettings.streamId,
          set: { ...values, updatedBy: by, updatedAt: new Date() },
        });
      return values;
    });
  }
}
