// Reads what happened on chain independently of the dapp: native transfers and fees, block by block.
import { decodeBlock, type ProtocolEvent } from '@persecond/contracts-client';
import type { ApiPromise } from '@polkadot/api';
import { u8aToHex } from '@polkadot/util';
import { decodeAddress } from '@polkadot/util-crypto';

/** An account as the 0x public key the events carry, whatever the SS58 prefix of `address`. */
export function accountHex(address: string): string {
  return u8aToHex(decodeAddress(address));
}

/** A `balances.Transfer` event; accounts as 0x public keys (see `accountHex`). */
export interface Transfer {
  block: number;
  from: string;
  to: string;
  amount: bigint;
}

/**
 * A transaction fee charged (`balances.Withdraw`) or refunded (`balances.Deposit`, negative): the dev chain's
 * runtime has no fee-paid event, and these two are the only ones that move native balance outside transfers here.
 * `who` as a 0x public key.
 */
export interface FeePaid {
  block: number;
  who: string;
  fee: bigint;
}

/** Native transfers and fees (charges and refunds) of blocks `from`..head (inclusive), read at each block. */
export async function nativeMoves(api: ApiPromise, from: number): Promise<{ transfers: Transfer[]; fees: FeePaid[] }> {
  const head = (await api.rpc.chain.getHeader()).number.toNumber();
  const transfers: Transfer[] = [];
  const fees: FeePaid[] = [];
  for (let n = from; n <= head; n++) {
    const hash = await api.rpc.chain.getBlockHash(n);
    const events = await (await api.at(hash)).query.system.events();
    for (const { event } of events) {
      if (api.events.balances.Transfer.is(event)) {
        const [f, t, amount] = event.data;
        transfers.push({ block: n, from: f.toHex(), to: t.toHex(), amount: amount.toBigInt() });
      } else if (api.events.balances.Withdraw.is(event)) {
        // Withdrawn from an account outside a transfer: the fee, charged before dispatch…
        const [who, amount] = event.data;
        fees.push({ block: n, who: who.toHex(), fee: amount.toBigInt() });
      } else if (api.events.balances.Deposit.is(event)) {
        // …less what is refunded after it (the same account credited outside a transfer).
        const [who, amount] = event.data;
        fees.push({ block: n, who: who.toHex(), fee: -amount.toBigInt() });
      }
    }
  }
  return { transfers, fees };
}

/** The current best block number. */
export async function headNumber(api: ApiPromise): Promise<number> {
  return (await api.rpc.chain.getHeader()).number.toNumber();
}

/** Free native balance of `address` at the best block. */
export async function freeBalance(api: ApiPromise, address: string): Promise<bigint> {
  return (await api.query.system.account(address)).data.free.toBigInt();
}

/** Sum of `amount` over `items`. */
export function total(items: { amount?: bigint; fee?: bigint }[]): bigint {
  return items.reduce((sum, i) => sum + (i.amount ?? i.fee ?? 0n), 0n);
}

/** The payment protocol's events (fundings, settlements with their `ps1:pay` seq, refunds) of blocks `from`..head. */
export async function protocolEvents(api: ApiPromise, from: number): Promise<ProtocolEvent[]> {
  const head = await headNumber(api);
  const events: ProtocolEvent[] = [];
  for (let n = from; n <= head; n++) {
    const hash = (await api.rpc.chain.getBlockHash(n)).toHex();
    events.push(...(await decodeBlock(api, hash, 42)));
  }
  return events;
}
