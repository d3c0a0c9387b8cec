import type { SessionKind } from './remark.ts';

/** What a stream is priced in: the native token (balances pallet) or an assets-pallet asset id. */
export type Asset = 'native' | number;

/** Where a protocol event sits on chain; `id` is `<blockHash>:<extrinsicIndex>:<eventIndex>`. */
export interface ChainPosition {
  readonly id: string;
  readonly blockHash: string;
  readonly blockNumber: number;
  readonly parentHash: string;
  readonly extrinsicIndex: number;
  /** Index in the block's event list of the Transfer/Transferred (or, for announcements, Remarked) event. */
  readonly eventIndex: number;
  /** Hash of the extrinsic that carried it. */
  readonly extrinsicHash: string;
}

/** `ps1:stream:<streamId>:<metadataCid>`, signed by the creator. */
export interface StreamAnnouncedEvent extends ChainPosition {
  readonly type: 'announcement';
  readonly streamId: string;
  readonly metadataCid: string;
  readonly creator: string;
}

/** `ps1:fund:<sessionId>`: one transfer from the wallet to the session account (budget or native fee top-up). */
export interface SessionFundedEvent extends ChainPosition {
  readonly type: 'funding';
  readonly sessionId: string;
  readonly wallet: string;
  readonly sessionAccount: string;
  readonly asset: Asset;
  readonly amount: bigint;
}

/**
 * `ps1:pay:<streamId>:<sessionId>:<seq>` (a live session) or `ps1:replay:<streamId>:<sessionId>:<seq>` (a replay
 * session): what the session account actually transferred to the creator.
 */
export interface SettlementEvent extends ChainPosition {
  readonly type: 'settlement';
  /** What the remark says the session pays for: `live` (`ps1:pay`) or `replay` (`ps1:replay`). */
  readonly sessionKind: SessionKind;
  readonly streamId: string;
  readonly sessionId: string;
  readonly seq: number;
  /** The session account. */
  readonly payer: string;
  readonly creator: string;
  readonly asset: Asset;
  readonly amount: bigint;
}

/** A sweep of a session account back to its wallet (`transferAll` in a pay batch, or any transfer before `ps1:refund:<sessionId>`). */
export interface RefundEvent extends ChainPosition {
  readonly type: 'refund';
  readonly sessionId: string;
  readonly sessionAccount: string;
  readonly wallet: string;
  readonly asset: Asset;
  readonly amount: bigint;
}

/**
 * `ps1:tip:<streamId>:<messageId>` after exactly one transfer in the same batchAll: what the signer actually
 * transferred to the recipient (the Transfer/Transferred event's amount, never anything the remark or a client says).
 */
export interface TipEvent extends ChainPosition {
  readonly type: 'tip';
  readonly streamId: string;
  /** The chat message the tip carries (signaling's message id). */
  readonly messageId: string;
  /** The wallet that signed the batch. */
  readonly from: string;
  /** The recipient of the transfer; earnings count it only when it is the stream's announced creator. */
  readonly creator: string;
  readonly asset: Asset;
  readonly amount: bigint;
}

/** Every event of the payment protocol decoded from the chain. */
export type ProtocolEvent = StreamAnnouncedEvent | SessionFundedEvent | SettlementEvent | RefundEvent | TipEvent;

/** A block header as the decoder and watcher see it. */
export interface BlockRef {
  readonly hash: string;
  readonly number: number;
  readonly parentHash: string;
}

/** A block with its decoded protocol events (possibly none). */
export interface DecodedBlock extends BlockRef {
  readonly events: ProtocolEvent[];
}
