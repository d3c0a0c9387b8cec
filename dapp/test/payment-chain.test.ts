// The viewer's payment extrinsics, as the watch page builds them, executed on the real dev chain: funding by the
// wallet, settlement and final refund by the session key; the creator receives exactly what is owed and the rest of
// the budget goes back to the wallet.
import { type DevChain, parseRemark, startDevChain } from '@persecond/contracts-client';
import { ApiPromise, WsProvider } from '@polkadot/api';
import type { SubmittableExtrinsic } from '@polkadot/api/types';
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { EventRecord } from '@polkadot/types/interfaces';
import { u8aEq } from '@polkadot/util';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settlementFee } from '../src/lib/chain/fees.ts';
import { createSessionKey, newSessionId, sessionKeyPair } from '../src/lib/payment/sessionKey.ts';
import { buildFinalSettlement, buildFunding, buildSettlement } from '../src/lib/payment/transactions.ts';

const ROC = 10n ** 12n;

describe('viewer payments on the dev chain', () => {
  let chain: DevChain | undefined;
  let api: ApiPromise | undefined;
  let alice: KeyringPair;
  let bob: KeyringPair;

  beforeAll(async () => {
    chain = await startDevChain();
    api = await ApiPromise.create({ provider: new WsProvider(chain.wsUrl), noInitWarn: true });
    await cryptoWaitReady();
    const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
    alice = keyring.addFromUri('//Alice');
    bob = keyring.addFromUri('//Bob');
  });

  afterAll(async () => {
    await api?.disconnect();
    await chain?.close();
  });

  /**
   * Signs, sends and waits for the block; returns the extrinsic's events and its fee. Chopsticks sometimes reports a
   * block as Finalized without an InBlock update first: either counts.
   */
  async function send(
    tx: SubmittableExtrinsic<'promise'>,
    pair: KeyringPair,
  ): Promise<{ events: EventRecord[]; fee: bigint }> {
    let last = 'unsent';
    let timer: ReturnType<typeof setTimeout> | undefined;
    return new Promise<{ events: EventRecord[]; fee: bigint }>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`${tx.method.section}.${tx.method.method} stuck at ${last}`)), 45_000);
      tx.signAndSend(pair, { nonce: -1 }, (r) => {
        last = r.status.type;
        if (r.status.isInvalid || r.status.isDropped || r.status.isUsurped) reject(new Error(`tx ${r.status.type}`));
        else if (r.dispatchError) reject(new Error(`dispatch error ${r.dispatchError.toString()}`));
        else if (r.status.isInBlock || r.status.isFinalized) {
          // This (2022) runtime has no TransactionFeePaid event: the fee is the signer's balances.Withdraw.
          const paid = r.events.find(
            (e) =>
              e.event.section === 'balances' &&
              e.event.method === 'Withdraw' &&
              u8aEq(e.event.data[0]?.toU8a() ?? new Uint8Array(), pair.publicKey),
          );
          resolve({ events: r.events, fee: paid ? BigInt(paid.event.data[1]?.toString() ?? '0') : 0n });
        }
      }).catch(reject);
    }).finally(() => {
      clearTimeout(timer);
    });
  }

  async function free(address: string): Promise<bigint> {
    if (!api) throw new Error('not started');
    return (await api.query.system.account(address)).data.free.toBigInt();
  }

  function remarksOf(tx: SubmittableExtrinsic<'promise'>): string[] {
    return (tx.method.args[0] as unknown as { section: string; method: string; args: { toUtf8(): string }[] }[])
      .filter((c) => c.method === 'remarkWithEvent')
      .map((c) => c.args[0]?.toUtf8() ?? '');
  }

  // Generous: three blocks of the real runtime on a shared 2-core machine.
  it('funds a session key, settles in arrears, then pays the rest and sweeps the remainder back', {
    timeout: 150_000,
  }, async () => {
    if (!api) throw new Error('not started');
    const key = createSessionKey(42);
    const session = sessionKeyPair(key, 42);
    const sessionId = newSessionId();
    const streamId = 'stream_e2e_01';
    const price = 2_000_000_000n; // 0.002 ROC per second
    const budget = 1n * ROC;
    const nativeForFees = ROC / 10n;

    const funding = buildFunding(api, {
      asset: 'native',
      sessionAccount: key.address,
      sessionId,
      budget,
      nativeForFees,
    });
    expect(remarksOf(funding).map(parseRemark)).toEqual([{ kind: 'fund', sessionId }]);
    const bobBefore = await free(bob.address);
    const funded = await send(funding, bob);
    expect(await free(key.address)).toBe(budget + nativeForFees);
    expect(await free(bob.address)).toBe(bobBefore - budget - nativeForFees - funded.fee);

    // Ten acknowledged seconds: the session key pays the creator exactly 10 × price.
    const aliceBefore = await free(alice.address);
    const settlement = buildSettlement(api, {
      asset: 'native',
      creator: alice.address,
      amount: 10n * price,
      streamId,
      sessionId,
      seq: 10,
    });
    expect(remarksOf(settlement).map(parseRemark)).toEqual([{ kind: 'pay', streamId, sessionId, seq: 10 }]);
    const exact = await settlementFee(api, 'native', alice.address, 10n * price, {
      payer: key.address,
      remark: `ps1:pay:${streamId}:${sessionId}:10`,
    });
    const studioEstimate = await settlementFee(api, 'native', alice.address, 10n * price);
    const settled = await send(settlement, session);
    expect(await free(alice.address)).toBe(aliceBefore + 10n * price);
    // The fee estimate is what the settlement really cost; the studio's (made before any id exists) errs high, by < 10 %.
    expect(settled.fee).toBeGreaterThan(0n);
    expect(exact).toBe(settled.fee);
    expect(studioEstimate >= settled.fee && studioEstimate * 10n <= settled.fee * 11n).toBe(true);

    // Leaving after 13 seconds: 3 more seconds to the creator, everything else back to Bob, session account emptied.
    const inSession = await free(key.address);
    const bobBeforeLeave = await free(bob.address);
    const final = await buildFinalSettlement(api, {
      asset: 'native',
      creator: alice.address,
      amount: 3n * price,
      streamId,
      sessionId,
      seq: 13,
      sessionAccount: key.address,
      wallet: bob.address,
    });
    expect(remarksOf(final).map(parseRemark)).toEqual([
      { kind: 'pay', streamId, sessionId, seq: 13 },
      { kind: 'refund', sessionId },
    ]);
    const left = await send(final, session);
    expect(await free(alice.address)).toBe(aliceBefore + 13n * price);
    expect(await free(key.address)).toBe(0n);
    expect(await free(bob.address)).toBe(bobBeforeLeave + inSession - 3n * price - left.fee);
  });
});
