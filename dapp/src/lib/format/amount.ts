// Exact conversions between token amounts typed by people and planck (bigint). No floats anywhere.
import { formatUnits, U128_MAX } from '@persecond/contracts-client/browser';

/** Why a typed amount was refused. */
export type AmountProblem = 'EMPTY' | 'NOT_A_NUMBER' | 'TOO_PRECISE' | 'TOO_LARGE';

/** A typed amount that cannot be converted; `problem` says why. */
export class AmountError extends Error {
  constructor(
    readonly problem: AmountProblem,
    message: string,
  ) {
    super(message);
    this.name = 'AmountError';
  }
}

/** Largest amount the chain can hold (u128). */
export const MAX_PLANCK = U128_MAX;

const AMOUNT = /^(\d*)(?:\.(\d*))?$/;

/** Converts a decimal token amount ("1.5", ".25", "3") to planck exactly; throws `AmountError`. */
export function tokensToPlanck(text: string, decimals: number): bigint {
  const trimmed = text.trim().replace(/[_\s]/g, '');
  if (trimmed === '') throw new AmountError('EMPTY', 'Enter an amount.');
  const m = AMOUNT.exec(trimmed);
  const whole = m?.[1] ?? '';
  const fraction = m?.[2] ?? '';
  if (!m || (whole === '' && fraction === '')) throw new AmountError('NOT_A_NUMBER', 'Enter a number such as 1.5.');
  if (fraction.replace(/0+$/, '').length > decimals)
    throw new AmountError('TOO_PRECISE', `Use at most ${decimals} digits after the decimal point.`);
  const frac = fraction.slice(0, decimals).padEnd(decimals, '0');
  const planck = BigInt(whole || '0') * 10n ** BigInt(decimals) + BigInt(frac || '0');
  if (planck > MAX_PLANCK) throw new AmountError('TOO_LARGE', 'That amount is too large.');
  return planck;
}

/** Formats planck as a plain decimal token amount without trailing zeros ("1.5", "0.000001", "3"). */
export { formatUnits as planckToTokens } from '@persecond/contracts-client/browser';

/** Formats planck for display with digit grouping, cut (not rounded up) to `maxFraction` digits. */
export function formatTokens(planck: bigint, decimals: number, maxFraction = 4): string {
  const exact = formatUnits(planck, decimals);
  const [whole = '0', fraction = ''] = exact.split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const cut = fraction.slice(0, maxFraction).replace(/0+$/, '');
  if (cut === '' && fraction !== '' && /^-?0$/.test(whole)) {
    // Non-zero but smaller than what we show: say so instead of printing 0.
    return `${planck < 0n ? '-' : ''}<0.${'0'.repeat(Math.max(0, maxFraction - 1))}1`;
  }
  return cut ? `${grouped}.${cut}` : grouped;
}
