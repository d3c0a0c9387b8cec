import {
  ContractsClientError,
  parseDelegation,
  parseVoucher,
  VoucherVerifier,
  verifyDelegation,
} from '@persecond/contracts-client';
import { Keyring } from '@polkadot/keyring';
import { stringToU8a, u8aToHex, u8aWrapBytes } from '@polkadot/util';
import { cryptoWaitReady, decodeAddress, signatureVerify } from '@polkadot/util-crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { WatchMeter } from '../src/lib/payment/meter.ts';
import { createSessionKey, sessionIdOf, sessionKeyPair, signWithSessionKey } from '../src/lib/payment/sessionKey.ts';
import { delegationMessage, voucherMessage } from '../src/lib/payment/voucher.ts';

const GENESIS = `0x${'45'.repeat(32)}`;

/** Feeds the meter one sample per 250 ms for `seconds` seconds, media advancing only when `playing(second)`. */
function play(meter: WatchMeter, seconds: number, playing: (second: number) => boolean, start = 1_000_000): void {
  let frames = 0;
  for (let t = 0; t <= seconds * 4; t++) {
    const second = Math.floor(t / 4);
    if (playing(second)) frames += 7;
    meter.observe({ at: start + t * 250, framesDecoded: frames });
  }
}

describe('WatchMeter', () => {
  it('counts exactly the seconds in which media advanced', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 1, maxLength: 60 }), (pattern) => {
        const meter = new WatchMeter(5n);
        play(meter, pattern.length, (s) => pattern[s] ?? false);
        expect(meter.seenSeconds).toBe(pattern.filter(Boolean).length);
      }),
    );
  });

  it('counts HLS playback time the same way', () => {
    const meter = new WatchMeter(1n);
    for (let i = 0; i <= 40; i++) meter.observe({ at: 2_000_000 + i * 250, mediaTime: Math.min(i, 19) * 0.25 });
    // Media advanced during seconds 0..4 (the first sample only sets the baseline), then stalled.
    expect(meter.seenSeconds).toBe(5);
  });

  it('acknowledges a tick only for seconds it saw, in order, at exactly watchedSeconds × price', () => {
    const price = 1_000_000_000n;
    const meter = new WatchMeter(price);
    play(meter, 10, (s) => s < 4);
    const tick = (seq: number, watchedSeconds: number, owed = BigInt(watchedSeconds) * price) => ({
      seq,
      watchedSeconds,
      owed: owed.toString(),
    });
    expect(meter.check(tick(1, 5))).toBe('NOT_SEEN');
    expect(meter.check(tick(1, 4, 4n * price + 1n))).toBe('WRONG_AMOUNT');
    expect(meter.check(tick(1, 4))).toBeUndefined();
    meter.acknowledge(tick(1, 4));
    expect(meter.acknowledgedOwed).toBe(4n * price);
    expect(meter.check(tick(1, 4))).toBe('OUT_OF_ORDER');
  });

  it('never accepts a tick for more seconds than were seen', () => {
    fc.assert(
      fc.property(
        fc.array(fc.boolean(), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 0, max: 40 }),
        fc.bigInt({ min: 1n, max: 10n ** 15n }),
        (pattern, claimed, price) => {
          const meter = new WatchMeter(price);
          play(meter, pattern.length, (s) => pattern[s] ?? false);
          const ok = meter.check({ seq: 0, watchedSeconds: claimed, owed: (BigInt(claimed) * price).toString() });
          expect(ok === undefined).toBe(claimed <= meter.seenSeconds);
        },
      ),
    );
  });
});

describe('session key and signed messages', () => {
  beforeAll(async () => {
    await cryptoWaitReady();
  });

  it('signs vouchers that verify against the session account (ed25519)', () => {
    const key = createSessionKey(42);
    const sessionId = sessionIdOf(key.address);
    expect(sessionId).toMatch(/^[0-9a-f]{32}$/);
    const message = voucherMessage({ genesisHash: GENESIS, streamId: 'stream_1234', sessionId, seq: 7, owed: 70n });
    expect(message).toBe(`ps1:voucher:${GENESIS}:stream_1234:${sessionId}:7:70`);
    expect(parseVoucher(message)).toEqual({
      genesisHash: GENESIS,
      streamId: 'stream_1234',
      sessionId,
      seq: 7,
      owed: 70n,
    });
    const signature = signWithSessionKey(key, message);
    const v = signatureVerify(message, signature, key.address);
    expect(v.isValid).toBe(true);
    expect(v.crypto).toBe('ed25519');
    expect(signatureVerify(message.replace(':70', ':71'), signature, key.address).isValid).toBe(false);
  });

  it('restores the same account from the stored seed, and the keyring pair matches it', () => {
    const key = createSessionKey(42);
    const again = createSessionKey(42, key.seed);
    expect(again.address).toBe(key.address);
    expect(sessionKeyPair(key, 42).address).toBe(key.address);
    expect(decodeAddress(key.address)).toEqual(key.publicKey);
  });

  it('binds the session key to stream, session, asset and budget, as contracts-client parses it', () => {
    const d = {
      genesisHash: GENESIS,
      streamId: 'abcdefgh',
      sessionId: 'session01',
      sessionAccount: '5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty',
      budget: 123_000_000_000_000n,
    };
    for (const asset of ['native', 1984] as const) {
      const message = delegationMessage({ ...d, asset });
      expect(message).toBe(`ps1:delegate:${GENESIS}:abcdefgh:session01:${d.sessionAccount}:${asset}:123000000000000`);
      expect(parseDelegation(message)).toEqual({ ...d, asset });
    }
  });

  it('produces vouchers and delegations that signaling’s verifiers accept, and only those', () => {
    const key = createSessionKey(42);
    const sessionId = sessionIdOf(key.address);
    const voucher = { genesisHash: GENESIS, streamId: 'stream_1234', sessionId, seq: 3, owed: 3_000_000_000n };
    const signature = signWithSessionKey(key, voucherMessage(voucher));
    const verifier = new VoucherVerifier();
    expect(verifier.isValid(voucher, signature, key.address)).toBe(true);
    expect(verifier.isValid({ ...voucher, owed: voucher.owed + 1n }, signature, key.address)).toBe(false);
    expect(verifier.isValid(voucher, signature, createSessionKey(42).address)).toBe(false);

    // The wallet signs through the extension's signRaw, which wraps the message in <Bytes>…</Bytes>.
    const wallet = new Keyring({ type: 'sr25519', ss58Format: 42 }).addFromUri('//Bob');
    const message = delegationMessage({
      genesisHash: GENESIS.toUpperCase().replace('0X', '0x'),
      streamId: 'stream_1234',
      sessionId,
      sessionAccount: key.address,
      asset: 1984,
      budget: 5n * 10n ** 12n,
    });
    const walletSignature = u8aToHex(wallet.sign(u8aWrapBytes(stringToU8a(message))));
    const expected = { genesisHash: GENESIS, streamId: 'stream_1234', sessionAccount: key.address };
    expect(verifyDelegation(message, walletSignature, wallet.address, expected)).toEqual({
      genesisHash: GENESIS,
      streamId: 'stream_1234',
      sessionId,
      sessionAccount: key.address,
      asset: 1984,
      budget: 5n * 10n ** 12n,
    });
    expect(() => verifyDelegation(message, walletSignature, key.address, expected)).toThrow(ContractsClientError);
    expect(() =>
      verifyDelegation(message, walletSignature, wallet.address, { ...expected, streamId: 'other' }),
    ).toThrow(ContractsClientError);
  });

  it('refuses to format messages signaling would not parse', () => {
    const voucher = { genesisHash: GENESIS, streamId: 'a:b', sessionId: 'session01', seq: 1, owed: 1n };
    expect(() => voucherMessage(voucher)).toThrow(ContractsClientError);
    expect(() => voucherMessage({ ...voucher, streamId: 'ab', owed: -1n })).toThrow(ContractsClientError);
    expect(() =>
      delegationMessage({
        genesisHash: GENESIS,
        streamId: 'ab',
        sessionId: 'session01',
        sessionAccount: 'not-an-address',
        asset: 'native',
        budget: 1n,
      }),
    ).toThrow();
  });
});
