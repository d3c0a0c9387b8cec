import {
  type Asset,
  buildFinalSettlement,
  buildSettlement,
  type ChainClient,
  estimateFee,
  getBalance,
} from '@persecond/contracts-client';
import { SignalingError } from '../errors.ts';

/** The stream terms and accounts an admission is checked for. */
export interface AdmissionTerms {
  streamId: string;
  sessionId: string;
  creator: string;
  wallet: string;
  sessionAccount: string;
  asset: Asset;
  pricePerSecond: bigint;
}

/** Payment windows that size the prepay and the fee reserve. */
export interface PrepayPolicy {
  minPrepaySeconds: number;
  settleEverySeconds: number;
  /** A fixed reserve instead of the chain's estimate. */
  feeReserve?: bigint;
}

/**
 * Native fees the session account needs for the prepaid window: one settlement every `settleEverySeconds` of the
 * `minPrepaySeconds`, plus the final settlement and sweep back to the wallet, each priced by the chain.
 */
export async function estimateFeeReserve(chain: ChainClient, t: AdmissionTerms, p: PrepayPolicy): Promise<bigint> {
  if (p.feeReserve !== undefined) return p.feeReserve;
  const batch = BigInt(p.settleEverySeconds) * t.pricePerSecond;
  const settlement = { streamId: t.streamId, sessionId: t.sessionId, seq: 1, creator: t.creator, asset: t.asset };
  const [one, last] = await Promise.all([
    estimateFee(buildSettlement(chain, { ...settlement, amount: batch > 0n ? batch : 1n }), t.sessionAccount),
    buildFinalSettlement(chain, {
      ...settlement,
      amount: batch,
      sessionAccount: t.sessionAccount,
      wallet: t.wallet,
    }).then((tx) => estimateFee(tx, t.sessionAccount)),
  ]);
  const settlements = BigInt(Math.ceil(p.minPrepaySeconds / p.settleEverySeconds));
  return settlements * one + last;
}

/**
 * Refuses with BALANCE_INSUFFICIENT `{ required, available }` unless the session account can pay
 * `minPrepaySeconds × price` plus the fee reserve while keeping its existential deposit (spendable balance).
 * For an asset stream the prepay is checked in the asset and the fee reserve in the native token.
 */
export async function checkPrepay(chain: ChainClient, t: AdmissionTerms, p: PrepayPolicy): Promise<void> {
  const prepay = BigInt(p.minPrepaySeconds) * t.pricePerSecond;
  const [feeReserve, balance, native] = await Promise.all([
    estimateFeeReserve(chain, t, p),
    getBalance(chain, t.sessionAccount, t.asset),
    t.asset === 'native' ? undefined : getBalance(chain, t.sessionAccount, 'native'),
  ]);
  const refuse = (required: bigint, available: bigint, asset: Asset) => {
    throw new SignalingError(
      'BALANCE_INSUFFICIENT',
      `the session account can spend ${available} of ${required} needed for ${p.minPrepaySeconds} s and fees`,
      {
        required: required.toString(),
        available: available.toString(),
        asset: String(asset),
        feeReserve: feeReserve.toString(),
      },
    );
  };
  if (!native) {
    if (balance.spendable < prepay + feeReserve) refuse(prepay + feeReserve, balance.spendable, 'native');
    return;
  }
  if (balance.spendable < prepay) refuse(prepay, balance.spendable, t.asset);
  if (native.spendable < feeReserve) refuse(feeReserve, native.spendable, 'native');
}
