import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  buildAnnouncement,
  buildFinalSettlement,
  buildFunding,
  buildSettlement,
  type ChainClient,
  connect,
  createSessionKey,
  DEV_ASSET,
  type DevChain,
  decodeBlock,
  estimateFee,
  getBalance,
  sessionKeyPair,
  startDevChain,
  TxSubmitter,
} from '../src/index.ts';

const CID = 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku';

let dev: DevChain;
let client: ChainClient;
let submitter: TxSubmitter;
const kr = new Keyring({ type: 'sr25519', ss58Format: 42 });
const alice = kr.addFromUri('//Alice');
const bob = kr.addFromUri('//Bob');

beforeAll(async () => {
  await cryptoWaitReady();
  dev = await startDevChain();
  client = await connect(dev.wsUrl);
  submitter = new TxSubmitter(client.api);
});
afterAll(async () => {
  await client?.close();
  await dev?.close();
});

const native = async (who: string) => (await client.api.query.system.account(who)).data.free.toBigInt();
const assetOf = async (who: string) => {
  const a = await client.api.query.assets.account(DEV_ASSET.id, who);
  return a.isSome ? a.unwrap().balance.toBigInt() : 0n;
};

describe('connect', () => {
  test('reads the chain facts once', () => {
    expect(client.facts).toMatchObject({ decimals: 12, symbol: 'ROC', ss58: 42, hasAssets: true });
    expect(client.facts.existentialDeposit).toBeGreaterThan(0n);
    expect(client.facts.genesisHash).toMatch(/^0x[0-9a-f]{64}$/);
  });

  test('refuses a chain that lacks a needed call with CHAIN_UNSUPPORTED', async () => {
    await expect(connect(dev.wsUrl, { requireCalls: ['revive.call'] })).rejects.toMatchObject({
      code: 'CHAIN_UNSUPPORTED',
    });
  });
});

describe('builders land on chain and decode', () => {
  test('announcement', async () => {
    const tx = buildAnnouncement(client, { streamId: 'stream-1', metadataCid: CID });
    expect(await estimateFee(tx, alice.address)).toBeGreaterThan(0n);
    const r = await submitter.submit(tx, alice);
    expect(r).toMatchObject({ ok: true, status: 'inBlock' });
    if (!r.ok) return;
    expect(r.events).toEqual(
      expect.arrayContaining([
        { section: 'system', method: 'Remarked' },
        { section: 'utility', method: 'BatchCompleted' },
        { section: 'system', method: 'ExtrinsicSuccess' },
      ]),
    );
    const events = await decodeBlock(client.api, r.blockHash, 42);
    expect(events).toEqual([
      expect.objectContaining({
        type: 'announcement',
        streamId: 'stream-1',
        metadataCid: CID,
        creator: alice.address,
        blockHash: r.blockHash,
        extrinsicIndex: r.extrinsicIndex,
      }),
    ]);
    const [e] = events;
    expect(e?.id).toBe(`${r.blockHash}:${r.extrinsicIndex}:${e?.eventIndex}`);
  });

  test('native funding, settlement, final settle + refund sweep', async () => {
    const key = createSessionKey(42);
    const session = sessionKeyPair(key, 42);
    const budget = 5n * 10n ** 12n;
    const fund = await submitter.submit(
      buildFunding(client, { sessionId: 'sess-n', sessionAccount: key.address, asset: 'native', budget }),
      alice,
    );
    expect(fund.ok).toBe(true);
    if (!fund.ok) return;
    expect(await decodeBlock(client.api, fund.blockHash, 42)).toEqual([
      expect.objectContaining({
        type: 'funding',
        sessionId: 'sess-n',
        wallet: alice.address,
        sessionAccount: key.address,
        asset: 'native',
        amount: budget,
      }),
    ]);

    const bobBefore = await native(bob.address);
    const settleTx = buildSettlement(client, {
      streamId: 'stream-1',
      sessionId: 'sess-n',
      seq: 10,
      creator: bob.address,
      asset: 'native',
      amount: 12_345n,
    });
    expect(await estimateFee(settleTx, key.address)).toBeGreaterThan(0n);
    const pay = await submitter.submit(settleTx, session);
    expect(pay.ok).toBe(true);
    if (!pay.ok) return;
    expect(pay.events).toEqual(
      expect.arrayContaining([
        { section: 'balances', method: 'Transfer' },
        { section: 'system', method: 'Remarked' },
        { section: 'utility', method: 'BatchCompleted' },
      ]),
    );
    expect(await native(bob.address)).toBe(bobBefore + 12_345n);
    expect(await decodeBlock(client.api, pay.blockHash, 42)).toEqual([
      expect.objectContaining({
        type: 'settlement',
        streamId: 'stream-1',
        sessionId: 'sess-n',
        seq: 10,
        payer: key.address,
        creator: bob.address,
        asset: 'native',
        amount: 12_345n,
      }),
    ]);

    const finalTx = await buildFinalSettlement(client, {
      streamId: 'stream-1',
      sessionId: 'sess-n',
      seq: 12,
      creator: bob.address,
      asset: 'native',
      amount: 2_000n,
      sessionAccount: key.address,
      wallet: alice.address,
    });
    const fin = await submitter.submit(finalTx, session);
    expect(fin.ok).toBe(true);
    if (!fin.ok) return;
    const events = await decodeBlock(client.api, fin.blockHash, 42);
    expect(events.map((e) => e.type)).toEqual(['settlement', 'refund']);
    expect(events[0]).toMatchObject({ amount: 2_000n, creator: bob.address, seq: 12 });
    expect(events[1]).toMatchObject({
      sessionId: 'sess-n',
      sessionAccount: key.address,
      wallet: alice.address,
      asset: 'native',
    });
    expect(await native(key.address)).toBe(0n);
  });

  test('asset funding with fee top-up, asset settlement, sweep of both', async () => {
    const key = createSessionKey(42);
    const session = sessionKeyPair(key, 42);
    const fund = await submitter.submit(
      buildFunding(client, {
        sessionId: 'sess-a',
        sessionAccount: key.address,
        asset: DEV_ASSET.id,
        budget: 1_000_000n,
        feeTopUp: 10n ** 12n,
      }),
      alice,
    );
    expect(fund.ok).toBe(true);
    if (!fund.ok) return;
    const funded = await decodeBlock(client.api, fund.blockHash, 42);
    expect(
      funded.map((e) => [e.type, 'asset' in e ? e.asset : undefined, 'amount' in e ? e.amount : undefined]),
    ).toEqual([
      ['funding', 'native', 10n ** 12n],
      ['funding', DEV_ASSET.id, 1_000_000n],
    ]);
    const pay = await submitter.submit(
      buildSettlement(client, {
        streamId: 's-asset',
        sessionId: 'sess-a',
        seq: 1,
        creator: bob.address,
        asset: DEV_ASSET.id,
        amount: 300n,
      }),
      session,
    );
    expect(pay.ok).toBe(true);
    if (!pay.ok) return;
    expect(await decodeBlock(client.api, pay.blockHash, 42)).toEqual([
      expect.objectContaining({ type: 'settlement', asset: DEV_ASSET.id, amount: 300n, creator: bob.address }),
    ]);
    const aliceAsset = await assetOf(alice.address);
    const fin = await submitter.submit(
      await buildFinalSettlement(client, {
        streamId: 's-asset',
        sessionId: 'sess-a',
        seq: 2,
        creator: bob.address,
        asset: DEV_ASSET.id,
        amount: 100n,
        sessionAccount: key.address,
        wallet: alice.address,
      }),
      session,
    );
    expect(fin.ok).toBe(true);
    if (!fin.ok) return;
    const events = await decodeBlock(client.api, fin.blockHash, 42);
    expect(events.map((e) => [e.type, e.type === 'announcement' ? 0 : e.asset])).toEqual([
      ['settlement', DEV_ASSET.id],
      ['refund', DEV_ASSET.id],
      ['refund', 'native'],
    ]);
    expect(events[1]).toMatchObject({ amount: 999_600n });
    expect(await assetOf(alice.address)).toBe(aliceAsset + 999_600n);
    expect(await assetOf(key.address)).toBe(0n);
  });

  test('a settlement whose transfer fails rolls back whole and comes back as data', async () => {
    const key = createSessionKey(42);
    const session = sessionKeyPair(key, 42);
    await submitter.submit(
      buildFunding(client, { sessionId: 'sess-f', sessionAccount: key.address, asset: 'native', budget: 10n ** 12n }),
      alice,
    );
    const bobBefore = await native(bob.address);
    const r = await submitter.submit(
      buildSettlement(client, {
        streamId: 'stream-1',
        sessionId: 'sess-f',
        seq: 1,
        creator: bob.address,
        asset: 'native',
        amount: 10n ** 12n,
      }),
      session,
    );
    expect(r).toMatchObject({ ok: false, status: 'dispatchError', error: { section: 'balances' } });
    if (r.ok || !r.blockHash) throw new Error('expected an included failure');
    expect(r.events.some((e) => e.method === 'Remarked')).toBe(false);
    expect(await decodeBlock(client.api, r.blockHash, 42)).toEqual([]);
    expect(await native(bob.address)).toBe(bobBefore);
  });

  test('back-to-back submissions from one account never reuse a nonce', async () => {
    const results = await Promise.all(
      [1, 2, 3, 4, 5].map((i) =>
        submitter.submit(buildAnnouncement(client, { streamId: `b2b-${i}`, metadataCid: CID }), alice),
      ),
    );
    expect(results.map((r) => r.ok)).toEqual([true, true, true, true, true]);
    expect(new Set(results.map((r) => r.nonce)).size).toBe(5);
  });

  test('spendable balances: native keeps the existential deposit, assets keep the min balance', async () => {
    const key = createSessionKey(42);
    const ed = client.facts.existentialDeposit;
    const empty = await getBalance(client, key.address, 'native');
    expect(empty).toEqual({ total: 0n, spendable: 0n });
    const r = await submitter.submit(
      buildFunding(client, {
        sessionId: 'sess-b',
        sessionAccount: key.address,
        asset: DEV_ASSET.id,
        budget: 5_000n,
        feeTopUp: 10n ** 12n,
      }),
      alice,
    );
    expect(r.ok).toBe(true);
    expect(await getBalance(client, key.address, 'native')).toEqual({ total: 10n ** 12n, spendable: 10n ** 12n - ed });
    expect(await getBalance(client, key.address, DEV_ASSET.id)).toEqual({
      total: 5_000n,
      spendable: 5_000n - DEV_ASSET.minBalance,
    });
    // A keep-alive transfer of exactly the spendable amount succeeds; one planck more is refused by the runtime.
    const session = sessionKeyPair(key, 42);
    const over = await submitter.submit(
      client.api.tx.assets.transferKeepAlive(DEV_ASSET.id, bob.address, 5_000n),
      session,
    );
    expect(over.ok).toBe(false);
    const exact = await submitter.submit(
      client.api.tx.assets.transferKeepAlive(DEV_ASSET.id, bob.address, 4_999n),
      session,
    );
    expect(exact.ok).toBe(true);
    expect(await getBalance(client, key.address, DEV_ASSET.id)).toEqual({ total: 1n, spendable: 0n });
  });

  test('a transaction the pool refuses comes back as data; until finalized waits for finality', async () => {
    const broke = sessionKeyPair(createSessionKey(42), 42);
    const refused = await submitter.submit(buildAnnouncement(client, { streamId: 'broke', metadataCid: CID }), broke);
    expect(refused).toMatchObject({ ok: false, status: 'invalid', error: { section: 'pool' } });
    const final = await submitter.submit(buildAnnouncement(client, { streamId: 'fin', metadataCid: CID }), alice, {
      until: 'finalized',
    });
    expect(final).toMatchObject({ ok: true, status: 'finalized' });
  });

  test('closing a submitter rejects what is still waiting, and later submissions', async () => {
    const own = new TxSubmitter(client.api);
    const waiting = own.submit(buildAnnouncement(client, { streamId: 'closing', metadataCid: CID }), bob);
    own.close();
    own.close();
    await expect(waiting).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(
      own.submit(buildAnnouncement(client, { streamId: 'late', metadataCid: CID }), bob),
    ).rejects.toMatchObject({
      code: 'CLOSED',
    });
  });
});
