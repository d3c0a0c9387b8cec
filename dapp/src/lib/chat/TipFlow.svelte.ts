// One "tip with a message": the server stores the message unsigned (`chat:tip`, refused with a code's sentence), the
// wallet signs one transaction (contracts-client `buildTip`: transfer to the creator + `ps1:tip:<streamId>:<messageId>`)
// and the page follows it into a block and to finality. The room shows the message once the server saw the transfer.
import type { ChatMessage } from '@persecond/signaling/protocol';
import { type AssetRef, chainApi } from '../chain/api.ts';
import type { TxPhase } from '../chain/txPhase.ts';
import { explain } from '../errors.ts';
import { request } from '../signaling/socket.ts';
import type { Wallet } from '../wallet/wallet.svelte.ts';
import type { ChatRoom } from './ChatRoom.svelte.ts';
import { chatErrorSentence } from './sendErrors.ts';

/** Where a tip stands: `posting` (the server stores the message), then the transaction's phases. */
export type TipPhase = 'idle' | 'posting' | Exclude<TxPhase, 'idle'>;

/** Which step refused the tip: the server (its code's sentence), the wallet (rejected) or the chain. */
export type TipFailure = 'server' | 'wallet' | 'chain';

/** What one tip needs: the stream's creator and asset, the planck amount and the message. */
export interface TipRequest {
  creator: string;
  asset: AssetRef;
  amount: bigint;
  text: string;
  mediaTime?: number;
}

/** One tip's progress, reactive for the dialog. */
export class TipFlow {
  phase = $state<TipPhase>('idle');
  /** The stored message the tip rides on, once the server answered. */
  message = $state<ChatMessage | undefined>();
  /** Why the tip failed, as a sentence, and at which step. */
  error = $state<{ step: TipFailure; text: string } | undefined>();

  constructor(
    private readonly room: ChatRoom,
    private readonly wallet: Wallet,
  ) {}

  /** Whether a tip is on its way (posting, signing or waiting for a block). */
  get busy(): boolean {
    return this.phase === 'posting' || this.phase === 'signing' || this.phase === 'submitted';
  }

  /** Posts the message and signs and submits its tip; resolves once in a block (true) or failed (false). */
  async send(r: TipRequest): Promise<boolean> {
    const socket = this.room.socket;
    if (!socket || this.busy) return false;
    this.phase = 'posting';
    this.error = undefined;
    this.message = undefined;
    let message: ChatMessage;
    try {
      const media =
        r.mediaTime !== undefined && Number.isFinite(r.mediaTime) && r.mediaTime >= 0 ? { mediaTime: r.mediaTime } : {};
      ({ message } = await request(socket, 'chat:tip', {
        streamId: this.room.streamId,
        text: r.text,
        asset: r.asset,
        amount: r.amount.toString(),
        clientId: crypto.randomUUID().replaceAll('-', ''),
        ...media,
      }));
    } catch (err) {
      return this.#fail('server', chatErrorSentence(err));
    }
    this.message = message;
    this.phase = 'signing';
    try {
      const { buildTip, txContext } = await import('@persecond/contracts-client/browser');
      const api = await chainApi();
      const tx = buildTip(txContext(api), {
        creator: r.creator,
        streamId: this.room.streamId,
        messageId: message.id,
        asset: r.asset,
        amount: r.amount,
      });
      await this.wallet.signAndSend(tx, (phase) => {
        // Finality may be told before the promise below settles: never step back.
        if (this.phase !== 'final') this.phase = phase;
      });
      return true;
    } catch (err) {
      const text = tipErrorSentence(err);
      return this.#fail(/cancelled in your wallet/i.test(text) ? 'wallet' : 'chain', text);
    }
  }

  /** Back to the start (the dialog closed or a new tip). */
  reset(): void {
    if (this.busy) return;
    this.phase = 'idle';
    this.error = undefined;
    this.message = undefined;
  }

  #fail(step: TipFailure, text: string): false {
    this.phase = 'failed';
    this.error = { step, text };
    return false;
  }
}

function tipErrorSentence(err: unknown): string {
  const text = explain(err);
  return text === 'Something went wrong. Please try again.' ? 'The tip could not be sent. Please try again.' : text;
}
