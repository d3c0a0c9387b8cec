// Funding a watch session: the budget and the native fees its settlements will cost go from the wallet to the session
// account in one transaction; the wallet's shortfall is told up front, with amounts (the chain's error says less).
import type { Tx } from '@persecond/contracts-client/browser';
import { type AssetRef, balanceOf, chainApi, tokenInfo } from '../chain/api.ts';
import { settlementFee } from '../chain/fees.ts';
import { UserFacingError } from '../errors.ts';
import { buildFunding } from './transactions.ts';

/** What the wallet lacks to fund a session: amounts in planck of `symbol` (with `decimals`). */
export interface WalletShortfall {
  required: bigint;
  available: bigint;
  symbol: string;
  decimals: number;
}

/** The wallet cannot pay the budget and fees it was asked to fund. */
export class WalletShortfallError extends UserFacingError {
  constructor(readonly shortfall: WalletShortfall) {
    super('BALANCE_INSUFFICIENT', 'Your account does not have enough funds to start watching with this budget.');
    this.name = 'WalletShortfallError';
  }
}

/** What one funding needs to know. */
export interface FundingRequest {
  asset: AssetRef;
  creator: string;
  streamId: string;
  sessionId: string;
  sessionAccount: string;
  pricePerSecond: bigint;
  /** Planck of `asset` added to the session's budget. */
  amount: bigint;
  /** Seconds of watching between two settlements (rules.ts `fundingInterval`). */
  secondsPerSettlement: number;
}

/** The funding transaction and the native fees it carries for the session's settlements. */
export interface FundingPlan {
  tx: Tx;
  nativeForFees: bigint;
}

/**
 * Builds the funding: the budget plus native fees for every settlement the budget allows, one more (pay-ahead's first
 * window, or the last partial one) and the final settlement, and the existential deposit.
 */
export async function planFunding(r: FundingRequest): Promise<FundingPlan> {
  const api = await chainApi();
  const perSettlement = await settlementFee(api, r.asset, r.creator, r.pricePerSecond, {
    payer: r.sessionAccount,
    remark: `ps1:pay:${r.streamId}:${r.sessionId}:${Number.MAX_SAFE_INTEGER}`,
  });
  const window = r.pricePerSecond * BigInt(r.secondsPerSettlement);
  const settlements = window > 0n ? r.amount / window + 2n : 2n;
  const ed = api.consts.balances.existentialDeposit.toBigInt();
  const nativeForFees = perSettlement * settlements + ed;
  const tx = buildFunding(api, {
    asset: r.asset,
    sessionAccount: r.sessionAccount,
    sessionId: r.sessionId,
    budget: r.amount,
    nativeForFees,
  });
  return { tx, nativeForFees };
}

/** What `wallet` lacks to send `plan` with `amount` of `asset`, or undefined when it can. */
export async function walletShortfall(
  wallet: string,
  asset: AssetRef,
  amount: bigint,
  plan: FundingPlan,
): Promise<WalletShortfall | undefined> {
  // transferKeepAlive leaves the existential deposit (and anything frozen) in the wallet: `spendable` says so.
  const [{ partialFee }, native, held] = await Promise.all([
    plan.tx.paymentInfo(wallet),
    balanceOf(wallet, 'native'),
    asset === 'native' ? undefined : balanceOf(wallet, asset),
  ]);
  const short = async (of: AssetRef, required: bigint, available: bigint): Promise<WalletShortfall> => {
    const { symbol, decimals } = await tokenInfo(of);
    return { required, available, symbol, decimals };
  };
  if (held && held.spendable < amount) return short(asset, amount, held.spendable);
  const nativeRequired = partialFee.toBigInt() + plan.nativeForFees + (asset === 'native' ? amount : 0n);
  if (native.spendable < nativeRequired) return short('native', nativeRequired, native.spendable);
  return undefined;
}
