// Funding a watch session from the wallet: the new session key with its stored record (saved before any money
// moves), the funding transaction (the first and each top-up, checked against what the wallet holds) and the
// wallet's delegation of the key to its budget.
import type { StreamView } from '../api/streams.ts';
import { DEV_SS58 } from '../chain/devChain.ts';
import type { TxPhase } from '../chain/txPhase.ts';
import { UserFacingError } from '../errors.ts';
import type { Wallet } from '../wallet/wallet.svelte.ts';
import type { Delegated } from './admission.ts';
import type { FundedSession } from './FundedSession.ts';
import { planFunding, WalletShortfallError, walletShortfall } from './funding.ts';
import { fundingInterval } from './rules.ts';
import { createSessionKey, type SessionKey, sessionIdOf } from './sessionKey.ts';
import { type StoredSession, saveSession } from './sessionStore.ts';
import { newStoredSession } from './storedSession.ts';
import { delegationMessage } from './voucher.ts';
import type { SessionKind } from './watchStatus.ts';

/** The watch session's figures a funding reads and sets (its own reactive fields). */
export interface FundingSession {
  readonly stream: StreamView;
  readonly price: bigint;
  fundingTx: TxPhase;
  budget: bigint;
}

/**
 * A new `kind` session key for `wallet` on `stream`, its record saved first: a closed tab can still recover the budget. The
 * session id is the key's (`sessionIdOf`): the node admits no other, so nobody can join or squat it without the key.
 */
export async function newSessionRecord(
  wallet: string,
  stream: StreamView,
  kind: SessionKind = 'live',
): Promise<{ key: SessionKey; stored: StoredSession }> {
  const key = createSessionKey(DEV_SS58);
  const { u8aToHex } = await import('@polkadot/util');
  const stored = newStoredSession({
    sessionId: sessionIdOf(key.address),
    streamId: stream.streamId,
    wallet,
    creator: stream.creator,
    asset: String(stream.asset),
    seedHex: u8aToHex(key.seed),
    ...(kind === 'live' ? {} : { kind }),
  });
  await saveSession(stored);
  return { key, stored };
}

/**
 * Moves `amount` into the session account of `funded()` (with the fees its settlements need), after checking the
 * wallet can; adds it to the budget and remembers it (and, the first time, the block that names the session).
 */
export async function fundSession(
  s: FundingSession,
  wallet: Wallet,
  funded: () => FundedSession | undefined,
  amount: bigint,
): Promise<void> {
  const f = funded();
  const address = wallet.selectedAddress;
  if (!f || !address) throw new UserFacingError('INTERNAL', 'No session key.');
  const plan = await planFunding({
    asset: s.stream.asset,
    creator: s.stream.creator,
    streamId: s.stream.streamId,
    sessionId: f.sessionId,
    sessionAccount: f.key.address,
    pricePerSecond: s.price,
    amount,
    secondsPerSettlement: fundingInterval(s.stream.terms),
  });
  const short = await walletShortfall(address, s.stream.asset, amount, plan);
  if (short) throw new WalletShortfallError(short);
  s.fundingTx = 'idle';
  const { blockHash } = await wallet.signAndSend(plan.tx, (phase) => {
    s.fundingTx = phase;
  });
  s.budget += amount;
  const stored = funded()?.stored;
  funded()?.remember({
    budget: (BigInt(stored?.budget ?? '0') + amount).toString(),
    // The first funding names the session: the server looks for it in this block.
    ...(stored?.fundedIn ? {} : { fundedIn: blockHash as `0x${string}` }),
  });
}

/** The wallet's signed delegation of `key` (session `sessionId` on `stream`) to `budget`. */
export async function signDelegation(
  wallet: Wallet,
  d: { genesisHash: string; stream: StreamView; sessionId: string; key: SessionKey; budget: bigint },
): Promise<Delegated> {
  const message = delegationMessage({
    genesisHash: d.genesisHash,
    streamId: d.stream.streamId,
    sessionId: d.sessionId,
    sessionAccount: d.key.address,
    asset: d.stream.asset,
    budget: d.budget,
  });
  return { message, signature: await wallet.signMessage(message), budget: d.budget };
}
