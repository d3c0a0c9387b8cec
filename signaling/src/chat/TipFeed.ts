import type { TipEvent } from '@persecond/contracts-client';
import pRetry from 'p-retry';
import type { Logger } from 'pino';
import { sameAccount } from '../accounts.ts';
import type { TipDelivery } from '../ledger/ledgerModule.ts';
import type { SignalingIo } from '../RequestRouter.ts';
import type { StreamsModule } from '../streams/StreamsModule.ts';
import { type MessageRow, toMessage } from './ChatStore.ts';
import type { ChatMetrics } from './metrics.ts';
import { chatRoom } from './ReactionTally.ts';
import type { StreamTipTotals } from './StreamTipTotals.ts';
import type { TipStore } from './TipStore.ts';
import { CHAT_TIP_SIGN_WITHIN_MINUTES, ChatMessageId, type ChatTipStatus } from './wire.ts';

const SIGN_WITHIN_MS = CHAT_TIP_SIGN_WITHIN_MINUTES * 60_000;
/**
 * A final step that failed to write is tried again this often, 1 s apart at first and doubling up to a minute (about
 * 4 min in all): no later delivery names the tip again, so without it the tip would stay pending.
 */
const FINAL_RETRY = { retries: 8, minTimeout: 1_000, factor: 2, maxTimeout: 60_000 } as const;

/**
 * Turns the chain's tips into the chat's tipped messages: a tip event naming an unsigned tip message of its stream,
 * signed by the message's sender and paid to the stream's creator, makes the message `pending` (shown to the room as
 * `chat:message` for the first time) with the chain's amount, then `final`; each step is also `chat:tip` to the room.
 * Anything else is ignored (debug log), and each step is a compare and set in the database, so nothing counts twice.
 * A step that fails to write is logged; a final one is tried again with backoff (`FINAL_RETRY`), a pending one is left
 * to the final step (which also moves an unsigned tip).
 */
export class TipFeed {
  #closed = false;
  /** Ends the final steps' retries on close. */
  readonly #stop = new AbortController();

  constructor(
    private readonly tips: TipStore,
    private readonly totals: StreamTipTotals,
    private readonly streams: StreamsModule,
    private readonly io: SignalingIo,
    private readonly metrics: ChatMetrics,
    private readonly log: Logger,
  ) {}

  /** Applies one watcher delivery (the ledger module calls it in chain order). */
  async deliver(delivery: TipDelivery): Promise<void> {
    if (this.#closed) return;
    if (delivery.status === 'retracted') {
      try {
        for (const row of await this.tips.retract(delivery.block.hash)) this.#announce(row, false);
      } finally {
        // Another node may have retracted the block's tips first: their streams are not known here.
        this.totals.changedAll();
      }
      return;
    }
    try {
      for (const tip of delivery.tips) {
        try {
          await this.#apply(tip, delivery.status);
        } catch (err) {
          this.#failed(tip, delivery.status, err);
        }
      }
    } finally {
      // Whether this node made the steps or another node made them first, they are written by now.
      this.totals.changed(delivery.tips.map((tip) => tip.streamId));
    }
  }

  /** Ignores further deliveries; safe to call twice. */
  close(): void {
    this.#closed = true;
    this.#stop.abort();
  }

  /** Logs a step that could not be written (e.g. the database briefly unreachable); retries a final one. */
  #failed(tip: TipEvent, to: 'pending' | 'final', err: unknown): void {
    const at = { tip: tip.id, messageId: tip.messageId, status: to };
    if (to === 'pending') {
      this.log.warn({ err, ...at }, 'tip step not written; its final step will make it');
      return;
    }
    this.log.warn({ err, ...at }, 'tip step not written; trying again');
    pRetry(() => this.#apply(tip, 'final'), {
      ...FINAL_RETRY,
      signal: this.#stop.signal,
      onFailedAttempt: ({ error, attemptNumber, retriesLeft }) =>
        this.log.warn({ err: error, ...at, attempt: attemptNumber, retriesLeft }, 'tip step not written again'),
    })
      .then(() => this.totals.changed([tip.streamId]))
      .catch((lastErr: unknown) => {
        if (!this.#closed) this.log.error({ err: lastErr, ...at }, 'tip step not written; gave up: it stays pending');
      });
  }

  async #apply(tip: TipEvent, to: 'pending' | 'final'): Promise<void> {
    if (this.#closed) return;
    const ignore = (why: string) => this.log.debug({ tip: tip.id, messageId: tip.messageId, why }, 'tip ignored');
    if (!ChatMessageId.safeParse(tip.messageId).success) return ignore('not a chat message id');
    const row = await this.tips.row(BigInt(tip.messageId));
    if (!row || row.streamId !== tip.streamId || row.tipStatus === null) return ignore('no tip message of the stream');
    if (!sameAccount(row.sender, tip.from)) return ignore('signed by another wallet than the sender');
    if (row.tipAsset !== String(tip.asset)) return ignore('paid in another asset than the stream’s');
    const from = row.tipStatus as ChatTipStatus;
    if (from === 'final' || (from === 'pending' && to === 'pending')) return ignore(`already ${from}`);
    if (from === 'unsigned' && row.sentAt < Date.now() - SIGN_WITHIN_MS) return ignore('signed too late');
    const stream = await this.streams.get(tip.streamId);
    if (!stream || !sameAccount(stream.creator, tip.creator)) return ignore('not paid to the stream’s creator');
    const changed = await this.tips.advance(row.id, from, { to, amount: tip.amount, tx: tip.id });
    if (!changed) return ignore('changed meanwhile');
    this.metrics.tips.inc({ status: to });
    this.log.debug({ tip: tip.id, messageId: tip.messageId, status: to, amount: tip.amount.toString() }, 'tip');
    this.#announce(changed, from === 'unsigned');
  }

  /** Tells the room: the message itself when it shows for the first time, then its tip's state. */
  #announce(row: MessageRow, firstShown: boolean): void {
    if (row.deletedAt !== null) return;
    const message = toMessage(row);
    if (!message.tip) return;
    const room = this.io.to(chatRoom(row.streamId));
    if (firstShown) room.emit('chat:message', message);
    room.emit('chat:tip', { streamId: message.streamId, messageId: message.id, ...message.tip });
  }
}
