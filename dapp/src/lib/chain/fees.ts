// Expected fee overhead of settling a stream's viewers in batches, from the chain's own fee estimate.
import type { ApiPromise } from '@polkadot/api';
import type { AssetRef } from './types.ts';

// Longer than typical ids, so an estimate made before the ids exist errs on the high side.
const SAMPLE_ID = 'xxxxxxxxxxxxxxxxxxxxxxxx';

/**
 * Fee (native planck) of one settlement batch: transfer to the creator + `ps1:pay` remark, paid by `payer`
 * (default: the creator, as an estimate); `remark` is the real one when known.
 */
export async function settlementFee(
  api: ApiPromise,
  asset: AssetRef,
  creator: string,
  amount: bigint,
  opts: { payer?: string; remark?: string } = {},
): Promise<bigint> {
  const transfer =
    asset === 'native'
      ? api.tx.balances.transferKeepAlive(creator, amount)
      : api.tx.assets.transferKeepAlive(asset, creator, amount);
  const tx = api.tx.utility.batchAll([
    transfer,
    api.tx.system.remarkWithEvent(opts.remark ?? `ps1:pay:${SAMPLE_ID}:${SAMPLE_ID}:1000000`),
  ]);
  const info = await tx.paymentInfo(opts.payer ?? creator);
  return info.partialFee.toBigInt();
}

/** Fee as parts per million of the value settled each time (native-priced streams only). */
export function overheadPpm(fee: bigint, pricePerSecond: bigint, settleEverySeconds: number): bigint | undefined {
  const settled = pricePerSecond * BigInt(settleEverySeconds);
  return settled > 0n ? (fee * 1_000_000n) / settled : undefined;
}

/** Formats parts per million as a percentage with two decimals ("1.25 %"). */
export function formatPpm(ppm: bigint): string {
  const hundredths = ppm / 100n;
  return `${hundredths / 100n}.${(hundredths % 100n).toString().padStart(2, '0')} %`;
}
