import type { TipEvent } from '@persecond/contracts-client';
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
 * Turns the chain's tips into the chat's tipped messages: a tip event naming an unsigned tip message of its stream,
 * signed by the message's sender and paid to the stream's creator, makes the message `pending` (shown to the room as
 * `chat:message` for the first time) with the chain's amount, then `final`; each step is also `chat:tip` to the room.
 * Anything else is ignored (debug log), and each step is a compare and set in the database, so nothing counts twice.
 */
export class TipFeed {
  #closed = false;

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
      for (const tip of delivery.tips) await this.#apply(tip, delivery.status);
    } finally {
      // Whether this node made the steps or another node made them first, they are written by now.
      this.totals.changed(delivery.tips.map((tip) => tip.streamId));
    }
  }

  /** Ignores further deliveries; safe to call twice. */
  close(): void {
    this.#closed = true;
  }

  async #apply(tip: TipEvent, to: 'pending' | 'final'): Promise<void> {
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
