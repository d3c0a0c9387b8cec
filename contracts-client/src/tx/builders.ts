import type { ApiPromise } from '@polkadot/api';
import type { SubmittableExtrinsic } from '@polkadot/api/types';
import { checkU128 } from '../amount.ts';
import { type ChainFacts, hasAssetCalls, listCalls } from '../chain/connect.ts';
import { ContractsClientError } from '../errors.ts';
import { formatRemark, PAYMENT_REMARK, ProtocolId, type SessionKind } from '../events/remark.ts';
import type { Asset } from '../events/types.ts';

/** An unsigned extrinsic ready to be signed and submitted. */
export type Tx = SubmittableExtrinsic<'promise'>;

/** What the builders need of a chain: a ChainClient is one; `txContext` makes one from an api connected elsewhere. */
export interface TxContext {
  readonly api: ApiPromise;
  readonly facts: Pick<ChainFacts, 'hasAssets'>;
}

/** A TxContext for an ApiPromise that was not opened by `connect` (the dapp's shared browser connection). */
export function txContext(api: ApiPromise): TxContext {
  return { api, facts: { hasAssets: hasAssetCalls(listCalls(api)) } };
}

function transferTo(client: TxContext, asset: Asset, dest: string, amount: bigint): Tx {
  checkU128(amount);
  const { api } = client;
  if (asset === 'native') return api.tx.balances.transferKeepAlive(dest, amount);
  if (!client.facts.hasAssets) throw new ContractsClientError('CHAIN_UNSUPPORTED', 'chain has no assets pallet');
  return api.tx.assets.transferKeepAlive(asset, dest, amount);
}

/** `utility.batchAll([system.remarkWithEvent("ps1:stream:<streamId>:<metadataCid>")])`, signed by the creator. */
export function buildAnnouncement(client: TxContext, p: { streamId: string; metadataCid: string }): Tx {
  const remark = formatRemark({ kind: 'stream', streamId: p.streamId, metadataCid: p.metadataCid });
  return client.api.tx.utility.batchAll([client.api.tx.system.remarkWithEvent(remark)]);
}

/** Parameters of a session funding. */
export interface FundingParams {
  sessionId: string;
  sessionAccount: string;
  asset: Asset;
  budget: bigint;
  /** Native planck for the session account's fees (and existential deposit) when the budget is an asset. */
  feeTopUp?: bigint;
}

/** Wallet → session account: (native fee top-up for asset budgets +) budget and `ps1:fund:<sessionId>`, atomically. */
export function buildFunding(client: TxContext, p: FundingParams): Tx {
  const { api } = client;
  const calls: Tx[] = [];
  // Native first: a non-sufficient asset cannot be held by an account that does not exist yet.
  if (p.feeTopUp && p.feeTopUp > 0n) calls.push(transferTo(client, 'native', p.sessionAccount, p.feeTopUp));
  calls.push(transferTo(client, p.asset, p.sessionAccount, p.budget));
  calls.push(api.tx.system.remarkWithEvent(formatRemark({ kind: 'fund', sessionId: p.sessionId })));
  return api.tx.utility.batchAll(calls);
}

/** Parameters of a settlement: `amount` is `owed − settled` for the acknowledged tick `seq`. */
export interface SettlementParams {
  streamId: string;
  sessionId: string;
  seq: number;
  creator: string;
  asset: Asset;
  amount: bigint;
  /** What the session pays for (default `live`): a replay session pays with `ps1:replay`, a live one with `ps1:pay`. */
  kind?: SessionKind;
}

/** The payment remark of a settlement: `ps1:pay:…` for a live session, `ps1:replay:…` for a replay session. */
function paymentRemark(p: Pick<SettlementParams, 'streamId' | 'sessionId' | 'seq' | 'kind'>): string {
  const kind = PAYMENT_REMARK[p.kind ?? 'live'];
  return formatRemark({ kind, streamId: p.streamId, sessionId: p.sessionId, seq: p.seq });
}

/**
 * Session account → creator: transfer + `ps1:pay:<streamId>:<sessionId>:<seq>` (`ps1:replay:…` for a replay session)
 * in one batchAll (all or nothing).
 */
export function buildSettlement(client: TxContext, p: SettlementParams): Tx {
  if (p.amount <= 0n) throw new ContractsClientError('AMOUNT_INVALID', 'settlement amount must be positive');
  const remark = paymentRemark(p);
  return client.api.tx.utility.batchAll([
    transferTo(client, p.asset, p.creator, p.amount),
    client.api.tx.system.remarkWithEvent(remark),
  ]);
}

/** Parameters of a tip: `amount` planck of `asset` from the signing wallet to the stream's creator. */
export interface TipParams {
  creator: string;
  streamId: string;
  /** The chat message the tip rides on. */
  messageId: string;
  asset: Asset;
  amount: bigint;
}

/**
 * Wallet → creator: transfer + `ps1:tip:<streamId>:<messageId>` in one batchAll, so a tip is one signature and never
 * a remark without its money. Throws BAD_REQUEST for an id outside the protocol's charset, AMOUNT_INVALID unless
 * 0 < amount ≤ u128::MAX.
 */
export function buildTip(client: TxContext, p: TipParams): Tx {
  for (const field of ['streamId', 'messageId'] as const) {
    if (!ProtocolId.safeParse(p[field]).success) {
      throw new ContractsClientError('BAD_REQUEST', `${field} must be 1-64 chars of [A-Za-z0-9_-]`, { field });
    }
  }
  if (p.amount <= 0n) throw new ContractsClientError('AMOUNT_INVALID', 'tip amount must be positive');
  const remark = formatRemark({ kind: 'tip', streamId: p.streamId, messageId: p.messageId });
  return client.api.tx.utility.batchAll([
    transferTo(client, p.asset, p.creator, p.amount),
    client.api.tx.system.remarkWithEvent(remark),
  ]);
}

/** Parameters of the final settlement and refund sweep. */
export interface FinalSettlementParams extends Omit<SettlementParams, 'amount'> {
  /** Final arrears; 0 sweeps only. */
  amount: bigint;
  /** The session account (signer), whose asset balance is swept. */
  sessionAccount: string;
  /** The wallet that funded the session; receives everything left. */
  wallet: string;
}

/**
 * Final arrears to the creator, then everything left back to the wallet, in one batchAll:
 * `[transfer(creator), remark pay (or replay), (assets.transfer(wallet, rest)), balances.transferAll(wallet, false),
 * remark refund]`.
 * Reads the session account's asset balance to sweep it.
 */
export async function buildFinalSettlement(client: TxContext, p: FinalSettlementParams): Promise<Tx> {
  const { api } = client;
  checkU128(p.amount);
  const calls: Tx[] = [];
  if (p.amount > 0n) {
    calls.push(transferTo(client, p.asset, p.creator, p.amount), api.tx.system.remarkWithEvent(paymentRemark(p)));
  }
  if (p.asset !== 'native') {
    const account = await api.query.assets.account(p.asset, p.sessionAccount);
    const held = account.isSome ? account.unwrap().balance.toBigInt() : 0n;
    const rest = held - p.amount;
    if (rest > 0n) calls.push(api.tx.assets.transfer(p.asset, p.wallet, rest));
  }
  calls.push(
    api.tx.balances.transferAll(p.wallet, false),
    api.tx.system.remarkWithEvent(formatRemark({ kind: 'refund', sessionId: p.sessionId })),
  );
  return api.tx.utility.batchAll(calls);
}

/** Estimated fee in native planck (`paymentInfo`) of `tx` signed by `signer`. */
export async function estimateFee(tx: Tx, signer: string): Promise<bigint> {
  const info = await tx.paymentInfo(signer);
  return info.partialFee.toBigInt();
}
