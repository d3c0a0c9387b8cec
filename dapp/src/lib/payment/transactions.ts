// The viewer's payment extrinsics (see DESIGN §4): funding by the wallet; settlements and the final refund by the
// session key.
import type { ApiPromise } from '@polkadot/api';
import type { SubmittableExtrinsic } from '@polkadot/api/types';
import type { AssetRef } from '../chain/types.ts';

type Tx = SubmittableExtrinsic<'promise'>;

function transfer(api: ApiPromise, asset: AssetRef, dest: string, amount: bigint): Tx {
  return asset === 'native'
    ? api.tx.balances.transferKeepAlive(dest, amount)
    : api.tx.assets.transferKeepAlive(asset, dest, amount);
}

/** Wallet → session account: the budget (+ native fees for asset budgets) and `ps1:fund:<sessionId>`. */
export function buildFunding(
  api: ApiPromise,
  p: { asset: AssetRef; sessionAccount: string; sessionId: string; budget: bigint; nativeForFees: bigint },
): Tx {
  const calls =
    p.asset === 'native'
      ? [transfer(api, 'native', p.sessionAccount, p.budget + p.nativeForFees)]
      : [
          transfer(api, p.asset, p.sessionAccount, p.budget),
          transfer(api, 'native', p.sessionAccount, p.nativeForFees),
        ];
  return api.tx.utility.batchAll([...calls, api.tx.system.remarkWithEvent(`ps1:fund:${p.sessionId}`)]);
}

interface Payment {
  asset: AssetRef;
  creator: string;
  amount: bigint;
  streamId: string;
  sessionId: string;
  seq: number;
}

function paymentCalls(api: ApiPromise, p: Payment): Tx[] {
  return [
    transfer(api, p.asset, p.creator, p.amount),
    api.tx.system.remarkWithEvent(`ps1:pay:${p.streamId}:${p.sessionId}:${p.seq}`),
  ];
}

/** Session account → creator: the arrears and `ps1:pay:<streamId>:<sessionId>:<seq>`, all or nothing. */
export function buildSettlement(api: ApiPromise, p: Payment): Tx {
  return api.tx.utility.batchAll(paymentCalls(api, p));
}

/** Final arrears to the creator, then everything left back to the wallet, and `ps1:refund:<sessionId>`. */
export async function buildFinalSettlement(
  api: ApiPromise,
  p: Payment & { sessionAccount: string; wallet: string },
): Promise<Tx> {
  const calls: Tx[] = p.amount > 0n ? paymentCalls(api, p) : [];
  if (p.asset !== 'native') {
    const account = await api.query.assets.account(p.asset, p.sessionAccount);
    const rest = (account.isSome ? account.unwrap().balance.toBigInt() : 0n) - p.amount;
    if (rest > 0n) calls.push(api.tx.assets.transfer(p.asset, p.wallet, rest));
  }
  calls.push(api.tx.balances.transferAll(p.wallet, false), api.tx.system.remarkWithEvent(`ps1:refund:${p.sessionId}`));
  return api.tx.utility.batchAll(calls);
}

/** Sends a session-key-signed extrinsic; resolves with its hash once it is in a block, rejects on dispatch errors. */
export function sendSigned(
  api: ApiPromise,
  tx: Tx,
  pair: import('@polkadot/keyring/types').KeyringPair,
): Promise<{ txHash: string }> {
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
