// Messages between the chat bench (bench/signaling/chat.ts) and its chatter processes (chatters.ts).

/** Latencies as counts per bucket of LATENCY_BUCKET_MS (the last bucket holds everything above): [bucket, count]. */
export type SparseHistogram = [number, number][];

/** Bucket width of the latency histograms (ms) and the number of buckets (the last one open-ended). */
export const LATENCY_BUCKET_MS = 0.1;
export const LATENCY_BUCKETS = 300_001;

/** What the bench asks a chatter process to do. */
export type ToChatters =
  /** Signs wallets //PersecondChatter<first>… in, one socket each, and joins the stream's chat. */
  | { type: 'init'; url: string; streamId: string; first: number; count: number; concurrency: number }
  /** Sends at these rates (per second, this process's share; 0 stops), spread over its chatters in turn. */
  | { type: 'traffic'; messagesPerSecond: number; reactionsPerSecond: number }
  /** Counts what is sent and received with a send time (or a reaction flush time) in [from, to) (ms since epoch). */
  | { type: 'window'; from: number; to: number }
  /** Answers the window's figures (once the window's sends are answered, or 30 s) and forgets them. */
  | { type: 'report' }
  | { type: 'close' };

/** One chatter process's figures over a window. */
export interface ChatWindowStats {
  /** Messages sent in the window and stored (ok ack), and refusals by code. */
  messagesSent: number;
  refused: Record<string, number>;
  /** Reaction presses in the window accepted, and refusals by code. */
  reactionsSent: number;
  reactionsRefused: Record<string, number>;
  /** Receipts (in `chat:messages` batches) of others' messages sent in the window, by every chatter of this process. */
  messagesReceived: number;
  /** Send (client clock) → receipt, per receipt. */
  messageLatency: SparseHistogram;
  /** `chat:send` → its ack at the sender (stored and fanned out). */
  ackLatency: SparseHistogram;
  /** `chat:reactions` receipts flushed in the window, the presses they sum, and flush (server clock) → receipt. */
  reactionEventsReceived: number;
  reactionPressesReceived: number;
  reactionLatency: SparseHistogram;
  /** Sends and presses of the window still unanswered when reported (after waiting up to 30 s). */
  unanswered: number;
  /** This process's event-loop delay over the window (ms): a busy receiver delays its receipts. */
  loopDelayMs: { p99: number; max: number };
}

/** What a chatter process answers. */
export type FromChatters =
  | { type: 'ready' }
  | { type: 'initialized'; ok: number; failed: Record<string, number>; ms: number }
  | { type: 'report'; stats: ChatWindowStats }
  | { type: 'closed' }
  | { type: 'error'; message: string };
