// Expected fee overhead of settling a stream's viewers in batches, from the chain's own fee estimate.
import {
  buildSettlement,
  ContractsClientError,
  estimateFee,
  parseRemark,
  sessionKindOf,
  txContext,
} from '@persecond/contracts-client/browser';
import type { ApiPromise } from '@polkadot/api';
import type { AssetRef } from './types.ts';

// Longer than typical ids, so an estimate made before the ids exist errs on the high side.
const SAMPLE_ID = 'xxxxxxxxxxxxxxxxxxxxxxxx';
const SAMPLE = { kind: 'pay', streamId: SAMPLE_ID, sessionId: SAMPLE_ID, seq: 1_000_000 } as const;

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
  const pay = opts.remark === undefined ? SAMPLE : parseRemark(opts.remark);
  if (pay?.kind !== 'pay' && pay?.kind !== 'replay') {
    throw new ContractsClientError('BAD_REQUEST', `not a ps1:pay or ps1:replay remark: ${opts.remark}`);
  }
  const { streamId, sessionId, seq } = pay;
  // A free stream settles nothing; 1 planck encodes as long as 0 does, so the fee is the same.
  const settled = amount > 0n ? amount : 1n;
  const kind = sessionKindOf(pay.kind);
  const tx = buildSettlement(txContext(api), { asset, creator, amount: settled, streamId, sessionId, seq, kind });
  return estimateFee(tx, opts.payer ?? creator);
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
