import {
  type ChainClient,
  ContractsClientError,
  type Delegation,
  type PaymentRules,
  sessionIdOf,
  verifyDelegation,
  verifyJoinProof,
} from '@persecond/contracts-client';
import type { Room, Sfu } from '@persecond/sfu';
import { hexToU8a } from '@polkadot/util';
import { encodeAddress } from '@polkadot/util-crypto';
import { PROTOCOL_SS58, protocolAddress, sameAccount } from '../accounts.ts';
import { SignalingError } from '../errors.ts';
import type { LedgerModule } from '../ledger/ledgerModule.ts';
import type { Payload } from '../protocol.ts';
import type { SignalingSocket } from '../RequestRouter.ts';
import type { StreamRecord } from '../streams/StreamStore.ts';
import { checkPrepay } from './prepay.ts';

/** What a session pays for: a live stream, or a stream's replay (priced at the replay's price). */
export type PayableStream = Pick<StreamRecord, 'streamId' | 'creator' | 'asset' | 'pricePerSecond' | 'terms'>;

/** What a join proved about its session: the wallet that delegated the key, the key's account, what it pays for. */
export interface ProvenSession {
  wallet: string;
  sessionAccount: string;
  delegation: Delegation;
  stream: PayableStream;
}

/** What a live join request proved about itself. */
export interface ProvenJoin extends ProvenSession {
  stream: StreamRecord;
  room: Room;
}

/** The part of a join request that names the stream and the paying session (`viewer:join`, `replay:join`). */
export type JoinRequest = Pick<Payload<'viewer:join'>, 'streamId' | 'session'>;

/** The session account of an ed25519 public key (hex). */
function sessionAccountOf(sessionKey: string): string {
  const key = hexToU8a(sessionKey);
  if (key.length !== 32) throw new SignalingError('SIGNATURE_INVALID', 'the session key must be 32 bytes (ed25519)');
  return encodeAddress(key, PROTOCOL_SS58);
}

/**
 * Who may join (DESIGN §4a.1), checked before anything costs the node: the wallet delegated this session key to this
 * stream, session and budget; the client holds the session key (it signed the join proof for this very socket, so a
 * key seen elsewhere is useless); the session id is the key's (`sessionIdOf`, else SESSION_ID_INVALID), so a session
 * id seen elsewhere is useless too; the stream is live here and priced in the delegated asset.
 */
export async function proveJoin(
  chain: ChainClient,
  sfu: Sfu,
  stream: StreamRecord | undefined,
  socket: SignalingSocket,
  p: Payload<'viewer:join'>,
): Promise<ProvenJoin> {
  const { streamId } = p;
  const { wallet, sessionAccount, delegation } = proveSessionKey(chain, socket, p);
  if (!stream || stream.status === 'pending') throw new SignalingError('STREAM_NOT_FOUND', `no stream ${streamId}`);
  if (stream.status !== 'live') {
    throw new SignalingError('STREAM_NOT_LIVE', `stream ${streamId} is not live`, { status: stream.status });
  }
  checkAsset(delegation, stream);
  const room = sfu.getRoom(streamId);
  if (!room || room.closed) {
    throw new SignalingError('STREAM_NOT_LIVE', `stream ${streamId} is served by another node`, {
      node: stream.node ?? '',
    });
  }
  return { wallet, sessionAccount, delegation, stream, room };
}

/** The delegation is in the asset the stream (or replay) is priced in, else SIGNATURE_INVALID. */
export function checkAsset(delegation: Delegation, stream: PayableStream): void {
  if (delegation.asset !== stream.asset) {
    throw new SignalingError('SIGNATURE_INVALID', 'the delegation is for another asset than the stream’s');
  }
}

/**
 * The session key part of a join (live or replay): the wallet's delegation of the key to this stream, session and
 * budget, the key's join proof for this very socket, and the session id derived from the key.
 */
export function proveSessionKey(
  chain: ChainClient,
  socket: SignalingSocket,
  p: JoinRequest,
): Omit<ProvenSession, 'stream'> {
  // In the protocol's format: registry scans compare accounts as text.
  const wallet = protocolAddress(socket.data.address ?? '') ?? (socket.data.address as string);
  const { streamId, session } = p;
  const sessionAccount = sessionAccountOf(session.sessionKey);
  const { genesisHash } = chain.facts;
  let delegation: Delegation;
  try {
    delegation = verifyDelegation(session.delegation.message, session.delegation.signature, wallet, {
      genesisHash,
      streamId,
      sessionAccount,
    });
  } catch (err) {
    if (err instanceof ContractsClientError) throw new SignalingError('SIGNATURE_INVALID', err.message);
    throw err;
  }
  if (delegation.sessionId !== session.sessionId || delegation.budget !== BigInt(session.budget)) {
    throw new SignalingError('SIGNATURE_INVALID', 'the delegation is for another session or budget');
  }
  const proof = { genesisHash, streamId, sessionId: session.sessionId, socketId: socket.id };
  if (!verifyJoinProof(proof, session.proof, session.sessionKey)) {
    throw new SignalingError('SIGNATURE_INVALID', 'the join proof is not the session key’s signature for this socket');
  }
  if (session.sessionId !== sessionIdOf(sessionAccount)) {
    throw new SignalingError('SESSION_ID_INVALID', 'the session id is not the one derived from the session key');
  }
  return { wallet, sessionAccount, delegation };
}

/**
 * The session account was funded for this session by the delegating wallet, as the chain says (the ledger's record
 * of `ps1:fund:<sessionId>` transfers, or the block the client names when the node's follower has not seen it yet).
 * Fundings of the same session id by anyone else, or to another account, count for nothing and harm no one: the
 * session id is derived from the session key (proveJoin), so whoever copies or front-runs a `ps1:fund:<sessionId>`
 * can neither join as that session nor keep its key's holder out.
 */
export async function checkFunded(
  ledgerModule: LedgerModule,
  join: ProvenSession,
  sessionId: string,
  fundedIn: string | undefined,
): Promise<void> {
  const fundings = await ledgerModule.fundingOf(sessionId, fundedIn ? { blockHash: fundedIn } : {});
  const own = fundings.filter(
    (f) => sameAccount(f.wallet, join.wallet) && sameAccount(f.sessionAccount, join.sessionAccount) && f.amount > 0n,
  );
  if (!own.some((f) => f.asset === join.stream.asset || f.asset === 'native')) {
    throw new SignalingError(
      'SESSION_NOT_FUNDED',
      fundings.length === 0
        ? `no funding of session ${sessionId} seen on chain yet`
        : `session ${sessionId} was not funded by this wallet to this session account`,
    );
  }
}

/** What a join's payment checks need besides the proven join. */
export interface CanPayRequest {
  sessionId: string;
  fundedIn: string | undefined;
  rules: PaymentRules;
  /** A fixed native fee reserve instead of the chain's estimate. */
  feeReserve: bigint | undefined;
  /** Other sessions of the wallet or session account watching on this node now (their arrears are bounded). */
  watchingHere: string[];
  /** Whether another session of the session account is attached on this node. */
  accountLiveHere: boolean;
}

/**
 * Whether the session can pay (DESIGN §4a.1–2): funded on chain by its wallet, its account backing no other live
 * session, no debt of the wallet or the account, and the prepay and fees on the account. The chain and ledger reads
 * run together; the first refusal in that order is the one told.
 */
export async function checkCanPay(
  chain: ChainClient,
  ledgerModule: LedgerModule,
  join: ProvenSession,
  r: CanPayRequest,
): Promise<void> {
  const { wallet, sessionAccount, stream } = join;
  const checks = [
    checkFunded(ledgerModule, join, r.sessionId, r.fundedIn),
    checkAccountFree(ledgerModule, sessionAccount, r.sessionId, r.accountLiveHere),
    checkNoDebt(ledgerModule, wallet, sessionAccount, r.sessionId, r.watchingHere),
    checkPrepay(
      chain,
      {
        streamId: stream.streamId,
        sessionId: r.sessionId,
        creator: stream.creator,
        wallet,
        sessionAccount,
        asset: stream.asset,
        pricePerSecond: stream.pricePerSecond,
      },
      {
        minPrepaySeconds: r.rules.minPrepaySeconds,
        settleEverySeconds: r.rules.settleEverySeconds,
        ...(r.feeReserve === undefined ? {} : { feeReserve: r.feeReserve }),
      },
    ),
  ];
  for (const c of checks) c.catch(() => undefined);
  for (const c of checks) await c;
}

/**
 * Debt (DESIGN §4a.2): what was metered and not paid in the wallet's and in the session account's other sessions,
 * leaving out those watching on this node right now — refused DEBT_OUTSTANDING with the larger of the two.
 */
async function checkNoDebt(
  ledgerModule: LedgerModule,
  wallet: string,
  sessionAccount: string,
  sessionId: string,
  watchingHere: string[],
): Promise<void> {
  const debts = await ledgerModule.ledger.debtOf(
    { wallet, sessionAccount },
    { exceptSessionId: sessionId, exceptActive: watchingHere },
  );
  const { debt: a } = debts.wallet;
  const { debt: b } = debts.sessionAccount;
  // biome-ignore lint/complexity/useMathMinMax: Math.max does not take bigint
  const debt = a > b ? a : b;
  if (debt > 0n) {
    throw new SignalingError('DEBT_OUTSTANDING', 'settle the debt of your earlier sessions first', {
      debt: debt.toString(),
    });
  }
}

/** How recently an active session of the same account must have been metered to count as live elsewhere. */
export const LIVE_ELSEWHERE_MS = 45_000;

/**
 * One funded account backs one live session at a time: refused with SESSION_IN_USE when another session of the same
 * session account is attached on this node, or active in the ledger and metered recently (on another node).
 */
export async function checkAccountFree(
  ledgerModule: LedgerModule,
  sessionAccount: string,
  sessionId: string,
  onThisNode: boolean,
): Promise<void> {
  if (onThisNode) {
    throw new SignalingError('SESSION_IN_USE', 'this session account backs another live session');
  }
  const others = await ledgerModule.ledger.activeSessionsOf(sessionAccount, { exceptSessionId: sessionId });
  const since = Date.now() - LIVE_ELSEWHERE_MS;
  if (others.some((o) => o.updatedAt.getTime() >= since)) {
    throw new SignalingError('SESSION_IN_USE', 'this session account backs another live session');
  }
}
