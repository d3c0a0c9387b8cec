// Asking the server to admit a funded session: the join carries the wallet's delegation, the block the funding landed
// in, and a proof, signed for this socket's id, that this page holds the session key (a rejoin after a reconnect is on
// a new socket, so it signs again). A replay session asks `replay:join` with the same session payload.
import { signJoinProof } from '@persecond/contracts-client/browser';
import type { Admission, ErrorCode, ReplayAdmission } from '@persecond/signaling/protocol';
import { UserFacingError } from '../errors.ts';
import { connectedId, request, type SignalingSocket } from '../signaling/socket.ts';
import type { SessionKey } from './sessionKey.ts';
import type { SessionKind } from './watchStatus.ts';

/** The wallet's signed delegation of a session key (its budget is the delegated one; top-ups do not change it). */
export interface Delegated {
  message: string;
  signature: `0x${string}`;
  budget: bigint;
}

/** What a join is made of. */
export interface JoinRequest {
  genesisHash: string;
  streamId: string;
  sessionId: string;
  key: SessionKey;
  delegation: Delegated;
  /** Hash of the block the funding landed in, when known. */
  fundedIn?: `0x${string}`;
  mode: 'auto' | 'webrtc' | 'hls';
  /** What the session pays for (default live); a replay is played over HLS whatever `mode` says. */
  kind?: SessionKind;
}

/** Refusals of `viewer:join` the watch page shows with what to do, rather than as a failure. */
export const JOIN_REFUSALS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'BALANCE_INSUFFICIENT',
  'DEBT_OUTSTANDING',
  'SESSION_NOT_FUNDED',
  'SESSION_IN_USE',
  'AMOUNT_OUT_OF_RANGE',
  'LIMIT_REACHED',
]);

/** Joins tried while the server has not seen the funding yet (SESSION_NOT_FUNDED), `attempt × 1 s` apart. */
const NOT_FUNDED_ATTEMPTS = 4;

/** Whether `err` is a refusal the watch page explains (see JOIN_REFUSALS). */
export function isJoinRefusal(err: unknown): err is UserFacingError & { code: ErrorCode } {
  return err instanceof UserFacingError && JOIN_REFUSALS.has(err.code as ErrorCode);
}

/**
 * Sends `viewer:join` (`replay:join` for a replay session), signing the proof for the socket's id at each attempt. SESSION_NOT_FUNDED (the funding may be in
 * a block the server has not followed yet) is tried again a few times with a short back-off; every other refusal, and
 * the last of those, is thrown as a UserFacingError with its stable code.
 */
export async function requestAdmission(socket: SignalingSocket, j: JoinRequest): Promise<Admission | ReplayAdmission> {
  const { u8aToHex } = await import('@polkadot/util');
  for (let attempt = 1; ; attempt++) {
    const socketId = await connectedId(socket);
    const { genesisHash, streamId, sessionId, key, delegation } = j;
    const session = {
      sessionId,
      sessionKey: u8aToHex(key.publicKey),
      budget: delegation.budget.toString(),
      delegation: { message: delegation.message, signature: delegation.signature },
      proof: signJoinProof(key, { genesisHash, streamId, sessionId, socketId }),
      ...(j.fundedIn ? { fundedIn: j.fundedIn } : {}),
    };
    try {
      if (j.kind === 'replay') return await request(socket, 'replay:join', { streamId, session });
      return await request(socket, 'viewer:join', { streamId, mode: j.mode, session });
    } catch (err) {
      const again = err instanceof UserFacingError && err.code === 'SESSION_NOT_FUNDED';
      if (!again || attempt >= NOT_FUNDED_ATTEMPTS) throw err;
      await new Promise((r) => setTimeout(r, attempt * 1_000));
    }
  }
}
