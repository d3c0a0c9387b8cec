// The chat's wire types and text rules, shared by the server and the dapp through `protocol.ts` (zod only: this file
// is loaded in the browser).
import { z } from 'zod';

/** The reactions a viewer may press; anything else is refused. */
export const CHAT_REACTIONS = ['heart', 'fire', 'laugh', 'clap', 'wow'] as const;
/** One of the fixed reactions. */
export type ChatReaction = (typeof CHAT_REACTIONS)[number];

/** Badges on a message: `creator` of the stream, `paying` (a live paid session of this stream), `moderator`. */
export type ChatBadge = 'creator' | 'moderator' | 'paying';

/** Longest message, in characters (Unicode code points) after cleaning. */
export const CHAT_TEXT_MAX = 500;
/** Most messages one page of history holds (the join's page and each `chat:history` page). */
export const CHAT_PAGE_MAX = 100;
/** Longest slow mode a stream may set (seconds). */
export const CHAT_SLOW_MODE_MAX_SECONDS = 3_600;
/** Latest media time a message may carry (seconds): a year of streaming. */
export const CHAT_MEDIA_TIME_MAX = 366 * 86_400;

// C0/C1 controls except tab and line breaks (those become spaces), and the bidi overrides and isolates that can make
// text read in another order than it is stored (Trojan Source); zero-width joiners stay (emoji sequences need them).
// biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
const STRIPPED = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/g;
const SPACES = /[\t\n\r]/g;

/** A message's text as it is stored and shown: breaks as spaces, controls stripped, trimmed, NFC. Never HTML. */
export function cleanChatText(raw: string): string {
  return raw.replace(SPACES, ' ').replace(STRIPPED, '').trim().normalize('NFC');
}

/** Message text on the wire: cleaned, then 1..CHAT_TEXT_MAX code points. */
export const ChatText = z
  .string()
  .max(CHAT_TEXT_MAX * 4)
  .transform(cleanChatText)
  .refine((t) => t.length > 0, 'the message is empty')
  .refine((t) => [...t].length <= CHAT_TEXT_MAX, `at most ${CHAT_TEXT_MAX} characters`);

/** A message id: a positive decimal integer, made by the server; later messages of a stream have greater ids. */
export const ChatMessageId = z.string().regex(/^[1-9][0-9]{0,17}$/, 'a message id');

/** A stream's chat rules, set by its creator or a moderator. */
export interface ChatSettings {
  /** Seconds a wallet waits between its messages (0: off); the creator and its moderators are exempt. */
  slowModeSeconds: number;
  /** Only the creator and wallets with a live paid session of the stream may post. */
  payingOnly: boolean;
}

/**
 * Where a tip riding on a message stands: `unsigned` (stored, answered to its sender only, never shown to others),
 * `pending` (its transfer is in a block), `final` (finalized); a pending tip whose block lost its fork is `unsigned`
 * again.
 */
export type ChatTipStatus = 'unsigned' | 'pending' | 'final';

/** A tip on a message: the stream's asset and the planck amount (the chain's once pending, the declared one before). */
export interface ChatTip {
  asset: 'native' | number;
  /** Decimal planck. */
  amount: string;
  status: ChatTipStatus;
}

/** A tip's progress on chain (`chat:tip`, to the room): `unsigned` when its block was retracted. */
export interface ChatTipUpdate extends ChatTip {
  streamId: string;
  messageId: string;
}

/** Most minutes an unsigned tip waits for its transfer; later transfers naming it are ignored. */
export const CHAT_TIP_SIGN_WITHIN_MINUTES = 15;

/** A chat message as stored and sent; text is plain text (render it as text, never as HTML). */
export interface ChatMessage {
  id: string;
  streamId: string;
  /** The sender's wallet address. */
  sender: string;
  /** The sender's display name, when it has one (none yet: reserved). */
  displayName: string | null;
  badges: ChatBadge[];
  text: string;
  /** Server time of the message (ms since epoch). */
  sentAt: number;
  /** Where the sender's player was in the stream (seconds), if the client said. */
  mediaTime: number | null;
  /** The tip riding on it, for a tipped message. */
  tip?: ChatTip;
}

/** New messages of one stream's chat, oldest first (`chat:messages`). */
export interface ChatMessageBatch {
  streamId: string;
  messages: ChatMessage[];
}

/** Reactions pressed in one stream during the second before `at` (server ms), on one node. */
export interface ChatReactionCounts {
  streamId: string;
  counts: Partial<Record<ChatReaction, number>>;
  at: number;
}

/** A signed-in wallet's part in the moderation of a stream's chat, as `chat:join` answers it (null: none, or anonymous). */
export type ChatJoinRole = 'creator' | 'moderator' | null;

/** Minutes a creator or moderator may time a wallet out for. */
export const CHAT_TIMEOUT_MINUTES = [1, 5, 10, 60] as const;
/** Most moderators a creator may name (over all of its streams). */
export const CHAT_MODERATORS_MAX = 50;
/** Most actions one page of the moderation log holds. */
export const CHAT_MODLOG_PAGE_MAX = 100;

/** What a moderation action did: name moderators, delete a message, time out, ban, unban, change the settings. */
export type ChatModActionKind = 'moderators' | 'delete' | 'timeout' | 'ban' | 'unban' | 'settings';

/** One recorded moderation action in a creator's streams (`chat:modlog`). */
export interface ChatModAction {
  /** Decimal id; later actions have greater ids. */
  id: string;
  /** The stream it was taken in (bans, timeouts and moderators hold in all of the creator's streams). */
  streamId: string;
  /** The creator or moderator who acted. */
  actor: string;
  action: ChatModActionKind;
  /** The wallet acted on (the sender of a deleted message), if any. */
  target: string | null;
  /** E.g. `messageId`, `minutes` and `until`, `removed` sessions, `added`/`removed` moderators (comma-separated). */
  details: Record<string, string>;
  /** Server time (ms since epoch). */
  at: number;
}
