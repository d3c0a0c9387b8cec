import type { Codec } from '@polkadot/types/types';
import type { Asset } from '../events/types.ts';
import type { ChainClient } from './connect.ts';

/** An account's holding of one asset, in planck. */
export interface Balance {
  /** Everything the account holds (free + reserved for native; the asset balance otherwise). */
  total: bigint;
  /** What a keep-alive transfer can move now: free minus frozen/reserved, minus what must stay for the existential deposit. */
  spendable: bigint;
}

const big = (c: Codec | undefined): bigint => (c ? BigInt(c.toString()) : 0n);
// biome-ignore lint/complexity/useMathMinMax: Math.max does not take bigint.
const max = (...xs: bigint[]): bigint => xs.reduce((a, b) => (b > a ? b : a), 0n);

/** Reads `address`'s balance of `asset` (native: balances pallet; number: assets pallet). */
export async function getBalance(client: ChainClient, address: string, asset: Asset): Promise<Balance> {
  const { api, facts } = client;
  if (asset === 'native') {
    const { data } = await api.query.system.account(address);
    const d = data as unknown as Record<string, Codec | undefined>;
    const free = big(d.free);
    const reserved = big(d.reserved);
    // Newer runtimes: one `frozen` that overlaps reserved; older (this Asset Hub): miscFrozen/feeFrozen over free.
    const locked =
      d.frozen !== undefined ? max(big(d.frozen) - reserved, 0n) : max(big(d.miscFrozen), big(d.feeFrozen));
    const untouchable = max(locked, facts.existentialDeposit);
    return { total: free + reserved, spendable: max(free - untouchable, 0n) };
  }
  const [account, details] = await Promise.all([
    api.query.assets.account(asset, address),
    api.query.assets.asset(asset),
  ]);
  if (account.isNone) return { total: 0n, spendable: 0n };
  const a = account.unwrap() as unknown as Record<string, Codec | undefined>;
  const balance = big(a.balance);
  const frozen = a.isFrozen?.toString() === 'true' || (a.status !== undefined && a.status.toString() !== 'Liquid');
  const minBalance = details.isSome ? details.unwrap().minBalance.toBigInt() : 0n;
  return { total: balance, spendable: frozen ? 0n : max(balance - minBalance, 0n) };
}
