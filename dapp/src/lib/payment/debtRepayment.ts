// Repaying a debt left by an earlier session (a crashed tab's) from the session accounts this browser still holds
// keys for; each paying account's rest goes back to the wallet in the same batch.
import { type AssetRef, balanceOf, chainApi, txSubmitter } from '../chain/api.ts';
import { DEV_SS58 } from '../chain/devChain.ts';
import { type DebtPayment, mayOwe, planDebtPayments } from './debt.ts';
import { restoreSessionKey, sessionKeyPair } from './sessionKey.ts';
import { forgetSession, sessionsOf } from './sessionStore.ts';
import { buildFinalSettlement, submitSigned } from './transactions.ts';

/** A debt from earlier sessions that blocks admission, and whether this browser holds a key that can pay it. */
export interface OutstandingDebt {
  amount: bigint;
  /** Stored sessions of this wallet (other than the current one) whose keys can pay. */
  payableFrom: number;
}

/** The debt the server reported (`amount`, planck) and how many of this browser's stored sessions may pay it. */
export async function describeDebt(wallet: string | undefined, amount: string | undefined, except: string) {
  const stored = wallet ? await sessionsOf(wallet).catch(() => []) : [];
  return {
    amount: amount ? BigInt(amount) : 0n,
    payableFrom: stored.filter((s) => s.sessionId !== except && mayOwe(s)).length,
  } satisfies OutstandingDebt;
}

/** Pays `debt` from `wallet`'s stored sessions other than `except`, oldest first, and sweeps them back. */
export async function repayDebt(wallet: string, debt: bigint, except: string): Promise<void> {
  const stored = (await sessionsOf(wallet)).filter((s) => s.sessionId !== except);
  const held = await Promise.all(
    stored.map(async (s) => {
      const key = restoreSessionKey(s.seedHex, DEV_SS58);
      return (await balanceOf(key.address, assetOf(s.asset))).spendable;
    }),
  );
  for (const step of planDebtPayments(debt, stored, held)) await payFromStored(step, wallet);
}

const assetOf = (text: string): AssetRef => (text === 'native' ? 'native' : Number(text));

/** Pays one part of an old debt from a stored session's account, and sweeps that account back to the wallet. */
async function payFromStored(step: DebtPayment, wallet: string): Promise<void> {
  const api = await chainApi();
  const { session: s } = step;
  const key = restoreSessionKey(s.seedHex, DEV_SS58);
  const asset = assetOf(s.asset);
  const build = (amount: bigint) =>
    buildFinalSettlement(api, {
      asset,
      creator: s.creator,
      amount,
      streamId: s.streamId,
      sessionId: s.sessionId,
      seq: 0,
      sessionAccount: key.address,
      wallet,
      kind: s.kind ?? 'live',
    });
  let tx = await build(step.amount);
  if (asset === 'native') {
    // The account pays this transaction's fee too: a native debt takes what is left after it.
    const fee = (await tx.paymentInfo(key.address)).partialFee.toBigInt();
    const { spendable: held } = await balanceOf(key.address, 'native');
    if (step.amount + fee > held) tx = await build(held > fee ? held - fee : 0n);
  }
  await submitSigned(await txSubmitter(), tx, sessionKeyPair(key, DEV_SS58));
  await forgetSession(s.sessionId);
}
