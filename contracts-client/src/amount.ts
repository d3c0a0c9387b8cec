import { z } from 'zod';
import { ContractsClientError } from './errors.ts';

/** Largest balance the chain can hold (u128). */
export const U128_MAX = (1n << 128n) - 1n;

/** A planck amount as a canonical decimal string (wire format), parsed to bigint within u128. */
export const AmountText = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,38})$/, 'amount must be a canonical decimal string')
  .transform((s) => BigInt(s))
  .refine((v) => v <= U128_MAX, 'amount exceeds u128');

/** Parses a decimal amount string; throws AMOUNT_INVALID. */
export function parseAmount(text: string): bigint {
  const r = AmountText.safeParse(text);
  if (!r.success) throw new ContractsClientError('AMOUNT_INVALID', `invalid amount ${JSON.stringify(text)}`);
  return r.data;
}

/** Formats an amount for the wire (decimal string); throws AMOUNT_INVALID outside u128. */
export function formatAmount(amount: bigint): string {
  checkU128(amount);
  return amount.toString();
}

/** Throws AMOUNT_INVALID unless 0 ≤ amount ≤ u128::MAX. */
export function checkU128(amount: bigint): bigint {
  if (amount < 0n || amount > U128_MAX) {
    throw new ContractsClientError('AMOUNT_INVALID', `amount out of u128 range: ${amount}`);
  }
  return amount;
}

/** Charged amount for `seconds` watched at `pricePerSecond`: exact product, u128-checked. */
export function owedFor(seconds: bigint | number, pricePerSecond: bigint): bigint {
  const s = typeof seconds === 'number' ? BigInt(seconds) : seconds;
  return checkU128(checkU128(s) * checkU128(pricePerSecond));
}

/** What is still to be paid: `owed − settled`; throws AMOUNT_INVALID if more was settled than owed. */
export function unsettled(owed: bigint, settled: bigint): bigint {
  checkU128(owed);
  checkU128(settled);
  if (settled > owed) throw new ContractsClientError('AMOUNT_INVALID', `settled ${settled} exceeds owed ${owed}`);
  return owed - settled;
}

/** Formats planck as tokens (`1.5` for 1_500_000 at 6 decimals), exact, trailing zeros trimmed; for views only. */
export function formatUnits(amount: bigint, decimals: number): string {
  const neg = amount < 0n;
  const abs = neg ? -amount : amount;
  const base = 10n ** BigInt(decimals);
  const whole = abs / base;
  const frac = (abs % base).toString().padStart(decimals, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${whole}${frac ? `.${frac}` : ''}`;
}

/** Parses a token amount (`1.5`) to planck exactly; throws AMOUNT_INVALID on more decimals than the chain has. */
export function parseUnits(text: string, decimals: number): bigint {
  const m = /^(0|[1-9][0-9]*)(?:\.([0-9]+))?$/.exec(text);
  if (!m || (m[2]?.length ?? 0) > decimals) {
    throw new ContractsClientError('AMOUNT_INVALID', `invalid token amount ${JSON.stringify(text)}`);
  }
  const frac = (m[2] ?? '').padEnd(decimals, '0');
  return checkU128(BigInt(m[1] ?? '0') * 10n ** BigInt(decimals) + BigInt(frac || '0'));
}
