// Leaving a watch session: `viewer:leave` first (it ends the metering and tells the final owed and settled), then what
// is still owed is paid once the settlement in flight landed, the rest of the budget swept back to the wallet, and the
// stored key forgotten.
import type { StreamView } from '../api/streams.ts';
import { request, type SignalingSocket } from '../signaling/socket.ts';
import type { FundedSession } from './FundedSession.ts';
import { finalOwed } from './rules.ts';
import { forgetSession } from './sessionStore.ts';
import type { Landed } from './transactions.ts';

/** The watch session's figures a leave reads and sets (its own fields). */
export interface LeavingSession {
  readonly stream: StreamView;
  readonly price: bigint;
  readonly mode: 'webrtc' | 'hls' | undefined;
  /** Filled with what the server's ledger said at `viewer:leave`: metered and settled (planck), seconds metered. */
  readonly final: { owed?: string; settled?: string; watchedSeconds?: number };
  owed: bigint;
  watchedSeconds: number;
}

/** What a leave works with besides the figures. */
export interface LeaveParts {
  socket: SignalingSocket | undefined;
  funded: FundedSession | undefined;
  wallet: string | undefined;
  /** The server already ended the session (`viewer:released`) with these figures: no `viewer:leave` to send. */
  released?: { owed: string; settled: string };
}

/** The final settlement in a block, and what the session had settled before it (planck). */
export interface FinalPayment {
  landed: Landed;
  settledBefore: bigint;
}

/**
 * Ends the session's membership (when it played on a connected socket and the server did not end it already) and pays what it owes in the end; answers the
 * final settlement, when there was a funded session to close.
 */
export async function leaveAndPay(
  s: LeavingSession,
  { socket, funded, wallet, released }: LeaveParts,
): Promise<FinalPayment | undefined> {
  let owed = s.owed;
  // Another session's seconds are not this one's: set again only by this leave's answer.
  delete s.final.watchedSeconds;
  const final = released ?? (socket?.connected && s.mode ? await request(socket, 'viewer:leave', {}) : undefined);
  if (final) {
    Object.assign(s.final, final);
    funded?.settler.credit(BigInt(final.settled));
    const seen = BigInt(funded?.vouchers.seenSeconds ?? 0) * s.price;
    const grace = BigInt((s.stream.rules?.voucherGraceSeconds ?? 0) + 1) * s.price;
    owed = finalOwed({ acknowledged: owed, metered: BigInt(final.owed), seen, grace });
  }
  if (!funded || !wallet) return undefined;
  await funded.settler.idle();
  const settledBefore = funded.settler.settled;
  const landed = await funded.settler.finish({
    owed,
    seq: funded.vouchers.lastAckSeq,
    sessionAccount: funded.key.address,
    wallet,
  });
  s.owed = owed;
  if (s.price > 0n) s.watchedSeconds = Number(owed / s.price);
  await forgetSession(funded.sessionId);
  return { landed, settledBefore };
}
