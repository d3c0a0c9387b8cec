// Leaving a watch session: `viewer:leave` first (it ends the metering and tells the final owed and settled), then what
// is still owed is paid once the settlement in flight landed, the rest of the budget swept back to the wallet, and the
// stored key forgotten.
import type { StreamView } from '../api/streams.ts';
import { request, type SignalingSocket } from '../signaling/socket.ts';
import type { FundedSession } from './FundedSession.ts';
import { finalOwed } from './rules.ts';
import { forgetSession } from './sessionStore.ts';

/** The watch session's figures a leave reads and sets (its own fields). */
export interface LeavingSession {
  readonly stream: StreamView;
  readonly price: bigint;
  readonly mode: 'webrtc' | 'hls' | undefined;
  /** Filled with what the server's ledger said at `viewer:leave`: metered and settled, planck. */
  readonly final: { owed?: string; settled?: string };
  owed: bigint;
  watchedSeconds: number;
}

/** What a leave works with besides the figures. */
export interface LeaveParts {
  socket: SignalingSocket | undefined;
  funded: FundedSession | undefined;
  wallet: string | undefined;
}

/** Ends the session's membership (when it played on a connected socket) and pays what it owes in the end. */
export async function leaveAndPay(s: LeavingSession, { socket, funded, wallet }: LeaveParts): Promise<void> {
  let owed = s.owed;
  if (socket?.connected && s.mode) {
    const final = await request(socket, 'viewer:leave', {});
    Object.assign(s.final, final);
    funded?.settler.credit(BigInt(final.settled));
    const seen = BigInt(funded?.vouchers.seenSeconds ?? 0) * s.price;
    const grace = BigInt((s.stream.rules?.voucherGraceSeconds ?? 0) + 1) * s.price;
    owed = finalOwed({ acknowledged: owed, metered: BigInt(final.owed), seen, grace });
  }
  if (!funded || !wallet) return;
  await funded.settler.finish({ owed, seq: funded.vouchers.lastAckSeq, sessionAccount: funded.key.address, wallet });
  s.owed = owed;
  if (s.price > 0n) s.watchedSeconds = Number(owed / s.price);
  await forgetSession(funded.sessionId);
}
