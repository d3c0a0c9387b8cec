// When a stream ends for a viewer: whether the server says it ended (checked before funding: no budget is ever sent to
// an ended stream), and what the session came to, from the server's ledger and the final settlement's chain events.
import { decodeBlock } from '@persecond/contracts-client/browser';
import { getStream } from '../api/streams.ts';
import { chainApi } from '../chain/api.ts';
import type { AssetRef } from '../chain/types.ts';
import { config } from '../config.ts';
import type { FinalPayment } from './leaving.ts';

/** What a viewer's session came to when its stream ended. */
export interface EndFigures {
  /** Seconds the server metered (its ledger, at `viewer:leave`); undefined when the session never joined. */
  watchedSeconds: number | undefined;
  /** Paid to the creator in all: the settlements that landed before the final one, and the final one's transfer. */
  paid: bigint;
  /** Swept back to the wallet by the final settlement (its refund event, in the stream's asset). */
  refunded: bigint;
}

/** Whether the signaling server says the stream has ended (asked afresh, not from the page's copy). */
export async function streamHasEnded(streamId: string): Promise<boolean> {
  return (await getStream(config.PUBLIC_SIGNALING_URL, streamId)).status === 'ended';
}

/** The session's end figures: the server's seconds, and what the final settlement moved as its block's events say. */
export async function endFiguresOf(
  final: FinalPayment,
  p: { sessionId: string; asset: AssetRef; watchedSeconds: number | undefined },
): Promise<EndFigures> {
  const events = await decodeBlock(await chainApi(), final.landed.blockHash);
  const ours = events.filter(
    (e) =>
      e.extrinsicHash === final.landed.txHash && 'sessionId' in e && e.sessionId === p.sessionId && e.asset === p.asset,
  );
  let paid = final.settledBefore;
  let refunded = 0n;
  for (const e of ours) {
    if (e.type === 'settlement') paid += e.amount;
    else if (e.type === 'refund') refunded += e.amount;
  }
  return { watchedSeconds: p.watchedSeconds, paid, refunded };
}
