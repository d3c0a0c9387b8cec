// Issue 18: how the node tells a dependency (Redis, the chain node) is away, what it answers meanwhile, and how the
// payment window stretches over a chain outage. Pure logic: the outages themselves are in test/faults/.
import { ContractsClientError, type PaymentRules } from '@persecond/contracts-client';
import { SocketClosedUnexpectedlyError } from 'redis';
import { describe, expect, it, vi } from 'vitest';
import { DependencyAvailability } from '../src/dependencies/Availability.ts';
import { isChainUnreachable } from '../src/dependencies/chainDependency.ts';
import { guardRedis, isRedisUnreachable, REDIS_DEADLINE_MS } from '../src/dependencies/redisDependency.ts';
import { dependencyRefusal } from '../src/dependencies/refusals.ts';
import { type PaymentPosition, paymentLag } from '../src/payments/paymentRules.ts';

const WAIT = { timeout: 2_000, interval: 5 };

describe('DependencyAvailability', () => {
  it('goes degraded when the probe fails or says nothing in time, ok when it answers, and keeps the outages', async () => {
    let answer: 'ok' | 'fail' | 'silent' = 'ok';
    const probe = () =>
      answer === 'ok'
        ? Promise.resolve('PONG')
        : answer === 'fail'
          ? Promise.reject(new Error('connection refused'))
          : new Promise(() => undefined);
    const a = new DependencyAvailability('redis', { probe, upMs: 10, downMs: 10, timeoutMs: 40 });
    const changes: boolean[] = [];
    a.onChange((up) => changes.push(up));
    try {
      const start = Date.now();
      await new Promise((r) => setTimeout(r, 50));
      expect(a.health()).toEqual({ status: 'ok' });
      expect(a.downMsSince(start)).toBe(0);

      answer = 'fail';
      await vi.waitFor(() => expect(a.available).toBe(false), WAIT);
      expect(a.health()).toMatchObject({ status: 'degraded', error: 'connection refused' });
      expect(Date.parse(a.health().since as string)).toBeGreaterThanOrEqual(start);
      await new Promise((r) => setTimeout(r, 100));
      expect(a.downMs).toBeGreaterThanOrEqual(90);
      answer = 'ok';
      await vi.waitFor(() => expect(a.available).toBe(true), WAIT);
      const firstOutage = a.downMsSince(start);
      expect(firstOutage).toBeGreaterThanOrEqual(90);
      // Counted since a time: only the part after it.
      expect(a.downMsSince(Date.now())).toBe(0);

      // A server that keeps the connection and answers nothing is away too.
      answer = 'silent';
      await vi.waitFor(() => expect(a.available).toBe(false), WAIT);
      expect(a.health().error).toMatch(/no answer in 40 ms/);
      // The outage under way counts as it grows.
      const during = a.downMsSince(start);
      await new Promise((r) => setTimeout(r, 60));
      expect(a.downMsSince(start)).toBeGreaterThanOrEqual(during + 50);
      answer = 'ok';
      await vi.waitFor(() => expect(a.available).toBe(true), WAIT);
      expect(a.downMsSince(start)).toBeGreaterThan(firstOutage + 50);
      expect(changes).toEqual([false, true, false, true]);

      // What the client says (a dropped connection) counts at once; the next probe that answers ends it.
      a.failed(new Error('chain WebSocket disconnected'));
      expect(a.health()).toMatchObject({ status: 'degraded', error: 'chain WebSocket disconnected' });
      await vi.waitFor(() => expect(a.available).toBe(true), WAIT);
    } finally {
      a.close();
    }
  });
});

describe('refusals while a dependency is away', () => {
  it('tells a dependency away from other failures', () => {
    expect(isRedisUnreachable(new SocketClosedUnexpectedlyError())).toBe(true);
    expect(isRedisUnreachable(new Error('WRONGTYPE Operation against a key'))).toBe(false);
    expect(isChainUnreachable(new Error('WebSocket is not connected'))).toBe(true);
    expect(isChainUnreachable(new Error('No response received from RPC endpoint in 5s'))).toBe(true);
    expect(isChainUnreachable(new Error('read failed', { cause: new Error('disconnected from ws://x: 1006::') }))).toBe(
      true,
    );
    expect(isChainUnreachable(new ContractsClientError('CHAIN_UNAVAILABLE', 'timed out waiting for inclusion'))).toBe(
      true,
    );
    expect(isChainUnreachable(new Error('1010: Invalid Transaction: Inability to pay some fees'))).toBe(false);
    expect(dependencyRefusal(new SocketClosedUnexpectedlyError())?.code).toBe('REDIS_UNAVAILABLE');
    expect(dependencyRefusal(new Error('WebSocket is not connected'))?.toAck()).toMatchObject({
      ok: false,
      code: 'CHAIN_UNAVAILABLE',
      details: { retryAfterMs: expect.stringMatching(/^\d+$/) },
    });
    expect(dependencyRefusal(new Error('something else'))).toBeUndefined();
  });

  it('refuses a Redis operation at once while Redis is away, and after the deadline when it says nothing', async () => {
    const away = new DependencyAvailability('redis', {
      probe: () => Promise.reject(new Error('down')),
      upMs: 60_000,
      downMs: 60_000,
      timeoutMs: 1_000,
    });
    try {
      away.failed(new Error('down'));
      let ran = false;
      const refused = guardRedis(away, async () => {
        ran = true;
      });
      await expect(refused).rejects.toSatisfy((err: unknown) => dependencyRefusal(err)?.code === 'REDIS_UNAVAILABLE');
      expect(ran).toBe(false);
    } finally {
      away.close();
    }
    const startedAt = Date.now();
    const silent = guardRedis(undefined, () => new Promise(() => undefined));
    await expect(silent).rejects.toSatisfy((err: unknown) => isRedisUnreachable(err));
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(REDIS_DEADLINE_MS - 50);
    await expect(guardRedis(undefined, async () => 'answer')).resolves.toBe('answer');
  });
});

describe('the settlement window over a chain outage', () => {
  const PRICE = 1_000n;
  const rules = {
    settleEverySeconds: 5,
    paymentGraceSeconds: 3,
    payAhead: false,
    voucherGraceSeconds: 3,
    minPrepaySeconds: 30,
    voucherVerifySeconds: 10,
    reconnectGraceSeconds: 30,
  } as PaymentRules;
  /** A viewer at tick `seq`, every voucher in, `settledSeconds` paid. */
  const at = (seq: number, settledSeconds: number, chainOutageSeconds?: number): PaymentPosition => ({
    seq,
    verifiedSeq: seq,
    receivedSeq: seq,
    owed: BigInt(seq) * PRICE,
    settled: BigInt(settledSeconds) * PRICE,
    pricePerSecond: PRICE,
    voucherInvalid: false,
    ...(chainOutageSeconds === undefined ? {} : { chainOutageSeconds }),
  });

  it('extends the window by the outage, and only the settlement window', () => {
    // 8 s of window: 8 unsettled seconds are fine, 9 are late…
    expect(paymentLag(at(18, 10), rules)).toBeUndefined();
    expect(paymentLag(at(19, 10), rules)).toBe('settlement-lag');
    // …unless the chain was away for them.
    expect(paymentLag(at(19, 10, 1), rules)).toBeUndefined();
    expect(paymentLag(at(40, 10, 22), rules)).toBeUndefined();
    expect(paymentLag(at(41, 10, 22), rules)).toBe('settlement-lag');
    // Vouchers need no chain: no extension for them.
    expect(paymentLag({ ...at(40, 40, 60), receivedSeq: 30 }, rules)).toBe('voucher-lag');
    // Pay-ahead: the next second must be paid, unless the chain was away.
    const ahead = { ...rules, payAhead: true, paymentGraceSeconds: 0 };
    expect(paymentLag(at(10, 10), ahead)).toBe('settlement-lag');
    expect(paymentLag(at(10, 11), ahead)).toBeUndefined();
    expect(paymentLag(at(20, 11, 10), ahead)).toBeUndefined();
    expect(paymentLag(at(21, 11, 10), ahead)).toBe('settlement-lag');
  });
});
