import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AmountError, formatTokens, MAX_PLANCK, planckToTokens, tokensToPlanck } from '../src/lib/format/amount.ts';

const planck = fc.bigInt({ min: 0n, max: MAX_PLANCK });
const decimals = fc.integer({ min: 0, max: 18 });

describe('tokensToPlanck / planckToTokens', () => {
  it('round-trips every u128 amount exactly, for any number of decimals', () => {
    fc.assert(
      fc.property(planck, decimals, (p, d) => {
        expect(tokensToPlanck(planckToTokens(p, d), d)).toBe(p);
      }),
    );
  });

  it('equals whole × 10^decimals + fraction for any typed whole and fraction digits', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 20n }),
        fc
          .integer({ min: 1, max: 18 })
          .chain((d) =>
            fc.tuple(fc.constant(d), fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 0, maxLength: d })),
          ),
        (whole, [d, fraction]) => {
          const expected = whole * 10n ** BigInt(d) + BigInt(fraction.padEnd(d, '0') || '0');
          expect(tokensToPlanck(`${whole}.${fraction}`, d)).toBe(expected);
        },
      ),
    );
  });

  it('is monotonic: a larger typed amount never gives fewer planck', () => {
    fc.assert(
      fc.property(planck, planck, decimals, (a, b, d) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        expect(tokensToPlanck(planckToTokens(lo, d), d) <= tokensToPlanck(planckToTokens(hi, d), d)).toBe(true);
      }),
    );
  });

  it('converts the amounts people type', () => {
    expect(tokensToPlanck('1.5', 12)).toBe(1_500_000_000_000n);
    expect(tokensToPlanck('.25', 6)).toBe(250_000n);
    expect(tokensToPlanck('3.', 6)).toBe(3_000_000n);
    expect(tokensToPlanck(' 0.000001 ', 6)).toBe(1n);
    expect(tokensToPlanck('1_000', 0)).toBe(1000n);
    expect(tokensToPlanck('0.10000000', 2)).toBe(10n);
    // 0.1 + 0.2 style float traps do not exist here.
    expect(tokensToPlanck('0.3', 18)).toBe(300_000_000_000_000_000n);
  });

  it('refuses what is not an exact amount, saying why', () => {
    const problem = (text: string, d: number) => {
      try {
        tokensToPlanck(text, d);
        return 'accepted';
      } catch (err) {
        return err instanceof AmountError ? err.problem : 'other';
      }
    };
    expect(problem('', 12)).toBe('EMPTY');
    expect(problem('  ', 12)).toBe('EMPTY');
    expect(problem('.', 12)).toBe('NOT_A_NUMBER');
    expect(problem('-1', 12)).toBe('NOT_A_NUMBER');
    expect(problem('1e3', 12)).toBe('NOT_A_NUMBER');
    expect(problem('1,5', 12)).toBe('NOT_A_NUMBER');
    expect(problem('0x10', 12)).toBe('NOT_A_NUMBER');
    expect(problem('1.2.3', 12)).toBe('NOT_A_NUMBER');
    expect(problem('0.0000001', 6)).toBe('TOO_PRECISE');
    expect(problem('1.5', 0)).toBe('TOO_PRECISE');
    expect(problem((MAX_PLANCK + 1n).toString(), 0)).toBe('TOO_LARGE');
  });

  it('refuses any text with more significant fraction digits than the token has', () => {
    fc.assert(
      fc.property(decimals, fc.integer({ min: 1, max: 9 }), (d, lastDigit) => {
        expect(() => tokensToPlanck(`0.${'0'.repeat(d)}${lastDigit}`, d)).toThrow(AmountError);
      }),
    );
  });
});

describe('formatTokens', () => {
  it('groups thousands and cuts (never rounds up) the fraction', () => {
    expect(formatTokens(1_234_567_890_000_000n, 12, 2)).toBe('1,234.56');
    expect(formatTokens(999_999n, 6, 2)).toBe('0.99');
    expect(formatTokens(3_000_000n, 6)).toBe('3');
    expect(formatTokens(0n, 12)).toBe('0');
  });

  it('shows tiny non-zero amounts as "<0.0…1" instead of 0', () => {
    expect(formatTokens(1n, 12, 4)).toBe('<0.0001');
    expect(formatTokens(1_000_000_001n, 9, 4)).toBe('1');
  });

  it('never shows more than the exact amount', () => {
    fc.assert(
      fc.property(planck, decimals, fc.integer({ min: 1, max: 8 }), (p, d, maxFraction) => {
        const shown = formatTokens(p, d, maxFraction);
        if (shown.startsWith('<')) return;
        expect(tokensToPlanck(shown.replaceAll(',', ''), d) <= p).toBe(true);
      }),
    );
  });
});
