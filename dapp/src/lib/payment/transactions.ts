// The viewer's payment extrinsics (see DESIGN §4), built by contracts-client: funding by the wallet; settlements and
// the final refund by the session key.
import {
  buildFinalSettlement as buildFinal,
  buildFunding as buildFund,
  buildSettlement as buildSettle,
  type SessionKind,
  type Tx,
  type TxSubmitter,
  txContext,
} from '@persecond/contracts-client/browser';
import type { ApiPromise } from '@polkadot/api';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { AssetRef } from '../chain/types.ts';
import { UserFacingError } from '../errors.ts';

/** Wallet → session account: the budget (+ native fees for asset budgets) and `ps1:fund:<sessionId>`. */
export function buildFunding(
  api: ApiPromise,
  p: { asset: AssetRef; sessionAccount: string; sessionId: string; budget: bigint; nativeForFees: bigint },
): Tx {
  const { asset, sessionAccount, sessionId } = p;
  // A native budget and its fees travel in one transfer; an asset budget needs the native fees sent separately.
  return asset === 'native'
    ? buildFund(txContext(api), { asset, sessionAccount, sessionId, budget: p.budget + p.nativeForFees })
    : buildFund(txContext(api), { asset, sessionAccount, sessionId, budget: p.budget, feeTopUp: p.nativeForFees });
}

interface Payment {
  asset: AssetRef;
  creator: string;
  amount: bigint;
  streamId: string;
  sessionId: string;
  seq: number;
  /** What the session pays for (default live): a replay session's remark is `ps1:replay:…`. */
  kind?: SessionKind;
}

/** Session account → creator: the arrears and `ps1:pay:<streamId>:<sessionId>:<seq>` (`ps1:replay:…`), all or nothing. */
export function buildSettlement(api: ApiPromise, p: Payment): Tx {
  return buildSettle(txContext(api), p);
}

/** Final arrears to the creator, then everything left back to the wallet, and `ps1:refund:<sessionId>`. */
export function buildFinalSettlement(
  api: ApiPromise,
  p: Payment & { sessionAccount: string; wallet: string },
): Promise<Tx> {
  return buildFinal(txContext(api), p);
}

/** A session-key-signed extrinsic in a block: its hash and the block's. */
export interface Landed {
  txHash: string;
  blockHash: string;
}

/**
 * Submits a session-key-signed extrinsic through contracts-client's `TxSubmitter` (nonces queued per account) and
 * resolves once it is in a block; a refusal by the pool or the runtime becomes a readable error.
 */
export async function submitSigned(submitter: TxSubmitter, tx: Tx, pair: KeyringPair): Promise<Landed> {
  const result = await submitter.submit(tx, pair);
  if (result.ok) return { txHash: result.txHash, blockHash: result.blockHash };
  const { name } = result.error;
  throw new UserFacingError(
    'WALLET',
    result.status === 'invalid'
      ? 'The payment was not accepted by the chain. Please try again.'
      : `The chain refused the payment (${name}).`,
  );
}
