// The payment rules a watch session follows: the admission's when it states them, checked at the boundary.
import { describe, expect, it } from 'vitest';
import { admittedRules, finalOwed, fundingInterval } from '../src/lib/payment/rules.ts';

const PRICE = 1_000n;
const RULES = {
  settleEverySeconds: 30,
  payAhead: true,
  voucherGraceSeconds: 3,
  paymentGraceSeconds: 0,
  minPrepaySeconds: 30,
  voucherVerifySeconds: 10,
  reconnectGraceSeconds: 30,
};

describe('admittedRules', () => {
  it("follows the admission's rules and exposure", () => {
    const a = admittedRules({ rules: RULES, exposure: { creatorMax: '0', viewerMax: '30000' } }, undefined, PRICE);
    expect(a).toEqual({
      rules: { settleEverySeconds: 30, payAhead: true },
      viewerMax: 30_000n,
      creatorMax: 0n,
      kind: 'live',
    });
  });

  it('says a replay admission pays as a replay (its settlements carry ps1:replay), any other as live', () => {
    expect(admittedRules({ rules: RULES, mode: 'replay' }, undefined, PRICE).kind).toBe('replay');
    for (const mode of ['webrtc', 'hls', undefined]) {
      expect(admittedRules({ rules: RULES, mode }, undefined, PRICE).kind).toBe('live');
    }
  });

  it("prefers the admission's rules to the stream's published terms", () => {
    const a = admittedRules({ rules: RULES }, { settleEverySeconds: 60, payAhead: false }, PRICE);
    expect(a.rules).toEqual({ settleEverySeconds: 30, payAhead: true });
    // Without an exposure from the server, the viewer's worst case is one window with pay-ahead.
    expect(a.viewerMax).toBe(30n * PRICE);
  });

  it('refuses malformed rules: an interval outside the bounds is not followed', () => {
    const a = admittedRules(
      { rules: { ...RULES, settleEverySeconds: 100_000 } },
      { settleEverySeconds: 10, payAhead: false },
      PRICE,
    );
    expect(a.rules).toEqual({ settleEverySeconds: 10, payAhead: false });
    expect(a.viewerMax).toBe(0n);
  });

  it('without rules or terms, settles in arrears at the shortest interval any server allows', () => {
    expect(admittedRules({}, undefined, PRICE).rules).toEqual({ settleEverySeconds: 5, payAhead: false });
    // Fees are sized for the most settlements any terms could need.
    expect(fundingInterval(undefined)).toBe(2);
    expect(fundingInterval({ settleEverySeconds: 30, payAhead: false })).toBe(30);
    expect(fundingInterval({ settleEverySeconds: 30, payAhead: true })).toBe(15);
  });
});

describe('finalOwed', () => {
  it('pays what the server metered, never less than what was acknowledged nor more than what was seen', () => {
    const s = (n: number) => BigInt(n) * PRICE;
    // Metered and seen agree with one unacknowledged tick: it is paid (the ledger would hold it as debt).
    expect(finalOwed({ acknowledged: s(20), metered: s(21), seen: s(21) })).toBe(s(21));
    // Fewer metered than acknowledged (a tick not yet written): what was acknowledged.
    expect(finalOwed({ acknowledged: s(20), metered: s(19), seen: s(20) })).toBe(s(20));
    // Metered beyond what the player showed: only what it showed.
    expect(finalOwed({ acknowledged: s(20), metered: s(30), seen: s(22) })).toBe(s(22));
    expect(finalOwed({ acknowledged: s(20), metered: s(30), seen: s(10) })).toBe(s(20));
    // The voucher grace: a player a few seconds behind the ticks pays what was metered, up to the grace.
    expect(finalOwed({ acknowledged: s(20), metered: s(23), seen: s(21), grace: s(4) })).toBe(s(23));
    expect(finalOwed({ acknowledged: s(20), metered: s(30), seen: s(21), grace: s(4) })).toBe(s(21));
  });
});
