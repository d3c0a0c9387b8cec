// The viewer's payment extrinsics (see DESIGN §4), built by contracts-client: funding by the wallet; settlements and
// the final refund by the session key.
import {
  buildFinalSettlement as buildFinal,
  buildFunding as buildFund,
  buildSettlement as buildSettle,
  type Tx,
  txContext,
} from '@persecond/contracts-client/browser';
import type { ApiPromise } from '@polkadot/api';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { AssetRef } from '../chain/types.ts';

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
}

/** Session account → creator: the arrears and `ps1:pay:<streamId>:<sessionId>:<seq>`, all or nothing. */
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

/** Sends a session-key-signed extrinsic; resolves with its hash once it is in a block, rejects on dispatch errors. */
export function sendSigned(api: ApiPromise, tx: Tx, pair: KeyringPair): Promise<{ txHash: string }> {
  return new Promise((resolve, reject) => {
    tx.signAndSend(pair, { nonce: -1 }, (result) => {
      if (result.dispatchError) {
        reject(
          new Error(
            result.dispatchError.isModule
              ? api.registry.findMetaError(result.dispatchError.asModule).name
              : 'dispatch error',
          ),
        );
      } else if (result.status.isInBlock || result.status.isFinalized) {
        // Some nodes (chopsticks) may report Finalized without an InBlock update first.
        resolve({ txHash: tx.hash.toHex() });
      } else if (result.status.isDropped || result.status.isInvalid || result.status.isUsurped) {
        reject(new Error('transaction not accepted'));
      }
    }).catch(reject);
  });
}
