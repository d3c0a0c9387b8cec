import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  formatAmount,
  formatRemark,
  formatUnits,
  formatVoucher,
  owedFor,
  parseAmount,
  parseRemark,
  parseUnits,
  parseVoucher,
  U128_MAX,
  unsettled,
  type Voucher,
} from '../src/index.ts';

const id = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
const u128 = fc.bigInt({ min: 0n, max: U128_MAX });
const voucher: fc.Arbitrary<Voucher> = fc.record({
  genesisHash: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => `0x${Buffer.from(b).toString('hex')}`),
  streamId: id,
  sessionId: id,
  seq: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
  owed: u128,
});

describe('voucher encoding', () => {
  test('parse(format(v)) is v, and the message is canonical', () => {
    fc.assert(
      fc.property(voucher, (v) => {
        const text = formatVoucher(v);
        expect(parseVoucher(text)).toEqual(v);
        expect(formatVoucher(parseVoucher(text) as Voucher)).toBe(text);
      }),
    );
  });

  test('distinct vouchers never share a message', () => {
    fc.assert(
      fc.property(voucher, voucher, (a, b) => {
        fc.pre(
          JSON.stringify(a, (_, x) => (typeof x === 'bigint' ? `${x}n` : x)) !==
            JSON.stringify(b, (_, x) => (typeof x === 'bigint' ? `${x}n` : x)),
        );
        expect(formatVoucher(a)).not.toBe(formatVoucher(b));
      }),
    );
  });

  test('any other text is refused or re-encodes to itself', () => {
    fc.assert(
      fc.property(fc.string(), voucher, fc.nat(), (junk, v, at) => {
        const text = formatVoucher(v);
        const i = at % (text.length + 1);
        const mutated = text.slice(0, i) + junk + text.slice(i);
        const parsed = parseVoucher(mutated);
        if (parsed) expect(formatVoucher(parsed)).toBe(mutated);
      }),
    );
  });

  test('amounts beyond u128, leading zeros and negatives are refused', () => {
    fc.assert(
      fc.property(voucher, fc.bigInt({ min: U128_MAX + 1n, max: U128_MAX * 4n }), (v, big) => {
        const text = formatVoucher(v);
        const prefix = text.slice(0, text.lastIndexOf(':') + 1);
        expect(parseVoucher(`${prefix}${big}`)).toBeUndefined();
        expect(parseVoucher(`${prefix}0${v.owed}`)).toBeUndefined();
        expect(parseVoucher(`${prefix}-${v.owed}`)).toBeUndefined();
        expect(() => formatVoucher({ ...v, owed: big })).toThrow();
      }),
    );
  });

  test('remarks round-trip', () => {
    fc.assert(
      fc.property(id, id, fc.nat({ max: Number.MAX_SAFE_INTEGER }), (streamId, sessionId, seq) => {
        for (const r of [
          { kind: 'pay', streamId, sessionId, seq } as const,
          { kind: 'fund', sessionId } as const,
          { kind: 'refund', sessionId } as const,
        ]) {
          expect(parseRemark(formatRemark(r))).toEqual(r);
        }
      }),
    );
  });
});

describe('amount arithmetic', () => {
  test('decimal strings round-trip exactly over the whole u128 range', () => {
    fc.assert(
      fc.property(u128, (a) => {
        expect(parseAmount(formatAmount(a))).toBe(a);
      }),
    );
  });

  test('owed = seconds × price exactly, or AMOUNT_INVALID past u128', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 1n << 64n }), u128, (seconds, price) => {
        const exact = seconds * price;
        if (exact <= U128_MAX) {
          expect(owedFor(seconds, price)).toBe(exact);
          if (price > 0n) expect(owedFor(seconds, price) / price).toBe(seconds);
        } else {
          expect(() => owedFor(seconds, price)).toThrow(expect.objectContaining({ code: 'AMOUNT_INVALID' }));
        }
      }),
    );
  });

  test('settling in any number of batches pays exactly what is owed', () => {
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: 0n, max: 1n << 100n }), { maxLength: 50 }), (ticks) => {
        let owed = 0n;
        let settled = 0n;
        let paid = 0n;
        for (const t of ticks) {
          owed += t;
          if (owed > U128_MAX) return;
          const due = unsettled(owed, settled);
          paid += due;
          settled += due;
        }
        expect(paid).toBe(owed);
        expect(unsettled(owed, settled)).toBe(0n);
      }),
    );
  });

  test('token formatting is exact and reversible', () => {
    fc.assert(
      fc.property(u128, fc.integer({ min: 0, max: 18 }), (a, decimals) => {
        const text = formatUnits(a, decimals);
        expect(text).not.toMatch(/e/i);
        expect(parseUnits(text, decimals)).toBe(a);
      }),
    );
  });

  test('non-canonical amount strings are refused', () => {
    for (const bad of ['', '-1', '01', '1.5', '1e3', ' 1', (U128_MAX + 1n).toString(), '0x10']) {
      expect(() => parseAmount(bad)).toThrow(expect.objectContaining({ code: 'AMOUNT_INVALID' }));
    }
  });
});
