// The viewer's payment extrinsics, as the watch page builds them, executed on the real dev chain: funding by the
// wallet, settlement and final refund by the session key; the creator receives exactly what is owed and the rest of
// the budget goes back to the wallet, and the indexer's decoder reads every step.
import { DEV_ASSET, type DevChain, decodeBlock, parseRemark, startDevChain } from '@persecond/contracts-client';
import { ApiPromise, WsProvider } from '@polkadot/api';
import type { SubmittableExtrinsic } from '@polkadot/api/types';
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { EventRecord } from '@polkadot/types/interfaces';
import { u8aEq } from '@polkadot/util';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settlementFee } from '../src/lib/chain/fees.ts';
import { createSessionKey, sessionIdOf, sessionKeyPair } from '../src/lib/payment/sessionKey.ts';
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

  interface Sent {
    events: EventRecord[];
    fee: bigint;
    blockHash: string;
  }

  /**
   * Signs, sends and waits for the block; returns the extrinsic's events, its fee and its block. Chopsticks sometimes
   * reports a block as Finalized without an InBlock update first: either counts.
   */
  async function send(tx: SubmittableExtrinsic<'promise'>, pair: KeyringPair): Promise<Sent> {
    let last = 'unsent';
    let timer: ReturnType<typeof setTimeout> | undefined;
    return new Promise<Sent>((resolve, reject) => {
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
          const blockHash = (r.status.isInBlock ? r.status.asInBlock : r.status.asFinalized).toHex();
          resolve({ events: r.events, fee: paid ? BigInt(paid.event.data[1]?.toString() ?? '0') : 0n, blockHash });
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

  async function assetOf(address: string): Promise<bigint> {
    if (!api) throw new Error('not started');
    const account = await api.query.assets.account(DEV_ASSET.id, address);
    return account.isSome ? account.unwrap().balance.toBigInt() : 0n;
  }

  /** `[type, asset, amount]` of every protocol event the indexer decodes from the block of `sent`. */
  async function decoded(sent: Sent): Promise<[string, unknown, unknown][]> {
    if (!api) throw new Error('not started');
    return (await decodeBlock(api, sent.blockHash, 42)).map((e) => [
      e.type,
      'asset' in e ? e.asset : undefined,
      'amount' in e ? e.amount : undefined,
    ]);
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
    const sessionId = sessionIdOf(key.address);
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
    expect(await decoded(funded)).toEqual([['funding', 'native', budget + nativeForFees]]);
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
    expect(await decoded(settled)).toEqual([['settlement', 'native', 10n * price]]);
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

  it('funds an asset budget with native fees first, settles in the asset, then sweeps both back', {
    timeout: 150_000,
  }, async () => {
    if (!api) throw new Error('not started');
    const key = createSessionKey(42);
    const session = sessionKeyPair(key, 42);
    const sessionId = sessionIdOf(key.address);
    const streamId = 'stream_e2e_asset';
    const asset = DEV_ASSET.id;
    const price = 1_000n; // 0.001 PSD per second
    const budget = 2_000_000n;
    const nativeForFees = ROC / 10n;

    const bobAssetBefore = await assetOf(bob.address);
    const funded = await send(
      buildFunding(api, { asset, sessionAccount: key.address, sessionId, budget, nativeForFees }),
      bob,
    );
    // Native first: a session account that does not exist yet cannot receive a non-sufficient asset.
    expect(await decoded(funded)).toEqual([
      ['funding', 'native', nativeForFees],
      ['funding', asset, budget],
    ]);
    expect(await assetOf(key.address)).toBe(budget);

    const aliceAssetBefore = await assetOf(alice.address);
    const settlement = buildSettlement(api, {
      asset,
      creator: alice.address,
      amount: 20n * price,
      streamId,
      sessionId,
      seq: 20,
    });
    const exact = await settlementFee(api, asset, alice.address, 20n * price, {
      payer: key.address,
      remark: `ps1:pay:${streamId}:${sessionId}:20`,
    });
    const settled = await send(settlement, session);
    expect(await decoded(settled)).toEqual([['settlement', asset, 20n * price]]);
    expect(exact).toBe(settled.fee);
    expect(await assetOf(alice.address)).toBe(aliceAssetBefore + 20n * price);

    const final = await buildFinalSettlement(api, {
      asset,
      creator: alice.address,
      amount: 5n * price,
      streamId,
      sessionId,
      seq: 25,
      sessionAccount: key.address,
      wallet: bob.address,
    });
    const left = await send(final, session);
    expect((await decoded(left)).map(([type, a]) => [type, a])).toEqual([
      ['settlement', asset],
      ['refund', asset],
      ['refund', 'native'],
    ]);
    expect(await assetOf(alice.address)).toBe(aliceAssetBefore + 25n * price);
    expect(await assetOf(key.address)).toBe(0n);
    expect(await free(key.address)).toBe(0n);
    expect(await assetOf(bob.address)).toBe(bobAssetBefore - 25n * price);
  });
});
