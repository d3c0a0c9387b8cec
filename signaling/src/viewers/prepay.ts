import {
  type Asset,
  buildFinalSettlement,
  buildSettlement,
  type ChainClient,
  estimateFee,
  getBalance,
  type Tx,
} from '@persecond/contracts-client';
import { SignalingError } from '../errors.ts';

/** The stream terms and accounts an admission is checked for. */
export interface PrepayTerms {
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
  /** How long an estimate of the chain's fees is reused for the same call shape (default `FEE_ESTIMATE_TTL_MS`). */
  feeEstimateTtlMs?: number;
}

/** How long a fee model of one call shape is reused (it holds until a runtime upgrade; the TTL bounds surprises). */
export const FEE_ESTIMATE_TTL_MS = 60_000;

/** FixedU128's accuracy: the fee multiplier is stored as multiplier × 10¹⁸. */
const FIXED_ONE = 10n ** 18n;

/**
 * A transaction's fee as the runtime computes it: `fixed` (base fee + length fee) plus ⌊multiplier × `weightFee`⌋
 * (the weight fee adjusted by the fee multiplier, which moves with every block).
 */
interface FeeModel {
  fixed: bigint;
  weightFee: bigint;
}

/** The fee reserve of one call shape: `settlements` settlements like `one`, then the final settlement `last`. */
interface ReserveModel {
  settlements: bigint;
  one: FeeModel;
  last: FeeModel;
}

interface CachedModel {
  model: Promise<ReserveModel | undefined>;
  expires: number;
}

const feeAt = (m: FeeModel, multiplier: bigint): bigint => m.fixed + (multiplier * m.weightFee) / FIXED_ONE;
const reserveAt = (r: ReserveModel, multiplier: bigint): bigint =>
  r.settlements * feeAt(r.one, multiplier) + feeAt(r.last, multiplier);
const ceilDiv = (a: bigint, b: bigint): bigint => (a + b - 1n) / b;

// Two `paymentInfo` runtime calls per join were most of an admission's cost. The fee depends only on the calls, their
// encoded length (accounts are fixed-size) and the fee multiplier, so joins of one shape share one fee model and each
// join only reads the multiplier: the same figure the chain would give, for one storage read.
const feeModels = new WeakMap<ChainClient, Map<string, CachedModel>>();

/** What a join's fees depend on besides the multiplier: the runtime, and the calls' shape and length. */
function feeShape(chain: ChainClient, t: PrepayTerms, p: PrepayPolicy): string {
  const { specVersion } = chain.api.runtimeVersion;
  const { asset, streamId, pricePerSecond, sessionId } = t;
  return [
    specVersion,
    asset,
    streamId,
    pricePerSecond,
    p.settleEverySeconds,
    p.minPrepaySeconds,
    sessionId.length,
  ].join('|');
}

/** The chain's current fee multiplier (one storage read), or undefined where the runtime has none. */
async function feeMultiplier(chain: ChainClient): Promise<bigint | undefined> {
  const read = chain.api.query.transactionPayment?.nextFeeMultiplier;
  return read ? BigInt((await read()).toString()) : undefined;
}

/** `tx`'s fee for `signer` now and, when it can be split exactly at `multiplier`, its model. */
async function measureFee(
  chain: ChainClient,
  tx: Tx,
  signer: string,
  multiplier: bigint | undefined,
): Promise<{ fee: bigint; model?: FeeModel }> {
  const { api } = chain;
  const details = api.call.transactionPaymentApi?.queryFeeDetails;
  if (multiplier === undefined || multiplier === 0n || !details) return { fee: await estimateFee(tx, signer) };
  // The weight part of the fee does not depend on the length: a fake-signed copy tells it.
  const probe = api.tx(api.createType('Call', tx.method.toU8a()));
  probe.signFake(signer, {
    nonce: 0,
    blockHash: api.genesisHash,
    genesisHash: api.genesisHash,
    runtimeVersion: api.runtimeVersion,
  });
  const [fee, split] = await Promise.all([estimateFee(tx, signer), details(probe.toHex(), probe.encodedLength)]);
  if (split.inclusionFee.isNone) return { fee };
  const adjusted = split.inclusionFee.unwrap().adjustedWeightFee.toBigInt();
  // The weight fees w with ⌊multiplier × w / 10¹⁸⌋ = adjusted: one, unless the range happens to hold two.
  const lo = ceilDiv(adjusted * FIXED_ONE, multiplier);
  const hi = ceilDiv((adjusted + 1n) * FIXED_ONE, multiplier) - 1n;
  return lo === hi ? { fee, model: { fixed: fee - adjusted, weightFee: lo } } : { fee };
}

/** The fee reserve priced by the chain now, and its model when every part split exactly at one multiplier. */
async function measureReserve(
  chain: ChainClient,
  t: PrepayTerms,
  p: PrepayPolicy,
  multiplier: bigint | undefined,
): Promise<{ reserve: bigint; model?: ReserveModel }> {
  const batch = BigInt(p.settleEverySeconds) * t.pricePerSecond;
  const settlement = { streamId: t.streamId, sessionId: t.sessionId, seq: 1, creator: t.creator, asset: t.asset };
  const [one, last] = await Promise.all([
    measureFee(
      chain,
      buildSettlement(chain, { ...settlement, amount: batch > 0n ? batch : 1n }),
      t.sessionAccount,
      multiplier,
    ),
    buildFinalSettlement(chain, {
      ...settlement,
      amount: batch,
      sessionAccount: t.sessionAccount,
      wallet: t.wallet,
    }).then((tx) => measureFee(chain, tx, t.sessionAccount, multiplier)),
  ]);
  const settlements = BigInt(Math.ceil(p.minPrepaySeconds / p.settleEverySeconds));
  const reserve = settlements * one.fee + last.fee;
  // A block in between would mix two multipliers: then this figure stands, but no model is kept.
  const steady = multiplier !== undefined && (await feeMultiplier(chain)) === multiplier;
  return one.model && last.model && steady
    ? { reserve, model: { settlements, one: one.model, last: last.model } }
    : { reserve };
}

/**
 * Native fees the session account needs for the prepaid window: one settlement every `settleEverySeconds` of the
 * `minPrepaySeconds`, plus the final settlement and sweep back to the wallet, each priced as the chain prices them
 * now. The first join of a call shape asks the chain (`paymentInfo`) and keeps a fee model; later joins of that shape
 * (for `feeEstimateTtlMs`) read only the fee multiplier. Concurrent joins share one measurement; a failed one is not
 * kept.
 */
export async function estimateFeeReserve(chain: ChainClient, t: PrepayTerms, p: PrepayPolicy): Promise<bigint> {
  if (p.feeReserve !== undefined) return p.feeReserve;
  const multiplier = await feeMultiplier(chain);
  if (multiplier === undefined) return (await measureReserve(chain, t, p, undefined)).reserve;
  let cache = feeModels.get(chain);
  if (!cache) {
    cache = new Map();
    feeModels.set(chain, cache);
  }
  const key = feeShape(chain, t, p);
  const now = Date.now();
  const hit = cache.get(key);
  if (hit && hit.expires > now) {
    const model = await hit.model.catch(() => undefined);
    if (model) return reserveAt(model, multiplier);
  }
  for (const [k, v] of cache) if (v.expires <= now) cache.delete(k);
  const measured = measureReserve(chain, t, p, multiplier);
  const entry: CachedModel = {
    model: measured.then((m) => m.model),
    expires: now + (p.feeEstimateTtlMs ?? FEE_ESTIMATE_TTL_MS),
  };
  cache.set(key, entry);
  const forget = () => {
    if (cache.get(key) === entry) cache.delete(key);
  };
  measured.then((m) => m.model ?? forget(), forget);
  return (await measured).reserve;
}

/**
 * Refuses with BALANCE_INSUFFICIENT `{ required, available }` unless the session account can pay
 * `minPrepaySeconds × price` plus the fee reserve while keeping its existential deposit (spendable balance).
 * For an asset stream the prepay is checked in the asset and the fee reserve in the native token. The fee estimate
 * and the balance reads run in parallel.
 */
export async function checkPrepay(chain: ChainClient, t: PrepayTerms, p: PrepayPolicy): Promise<void> {
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
