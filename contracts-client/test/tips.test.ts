import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  buildFunding,
  buildTip,
  type ChainClient,
  connect,
  createSessionKey,
  DEV_ASSET,
  type DevChain,
  decodeBlock,
  formatRemark,
  parseRemark,
  SettlementWatcher,
  sessionKeyPair,
  startDevChain,
  type TipEvent,
  TxSubmitter,
  U128_MAX,
  type WatchedBlock,
} from '../src/index.ts';

const id = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);

describe('tip remark', () => {
  test('parse(format(r)) is r for every stream and message id', () => {
    fc.assert(
      fc.property(id, id, (streamId, messageId) => {
        const remark = { kind: 'tip', streamId, messageId } as const;
        const text = formatRemark(remark);
        expect(text).toBe(`ps1:tip:${streamId}:${messageId}`);
        expect(parseRemark(text)).toEqual(remark);
      }),
    );
  });

  test('anything but exactly two ids of the protocol charset is refused', () => {
    for (const bad of [
      'ps1:tip:s1',
      'ps1:tip:s1:',
      'ps1:tip::m1',
      'ps1:tip:s1:m1:extra',
      'ps1:tip:s 1:m1',
      'ps1:tip:s1:m/1',
      'ps1:tip:s1:m1\n',
      `ps1:tip:s1:${'m'.repeat(65)}`,
      'ps2:tip:s1:m1',
      'PS1:tip:s1:m1',
      'ps1:TIP:s1:m1',
    ]) {
      expect(parseRemark(bad), bad).toBeUndefined();
    }
    expect(() => formatRemark({ kind: 'tip', streamId: 's1', messageId: 'a:b' })).toThrow();
  });
});

// Several transactions per test: generous per-test time for a machine with other work on it.
describe('tips on the dev chain', { timeout: 180_000 }, () => {
  let dev: DevChain;
  let client: ChainClient;
  let submitter: TxSubmitter;
  const kr = new Keyring({ type: 'sr25519', ss58Format: 42 });
  const viewer = kr.addFromUri('//Alice');
  const creator = kr.addFromUri('//Bob');
  const stranger = kr.addFromUri('//Charlie');

  beforeAll(async () => {
    await cryptoWaitReady();
    dev = await startDevChain();
    client = await connect(dev.wsUrl);
    submitter = new TxSubmitter(client.api);
  }, 120_000);
  afterAll(async () => {
    await client?.close();
    await dev?.close();
  });

  const native = async (who: string) => (await client.api.query.system.account(who)).data.free.toBigInt();
  const assetOf = async (who: string) => {
    const a = await client.api.query.assets.account(DEV_ASSET.id, who);
    return a.isSome ? a.unwrap().balance.toBigInt() : 0n;
  };
  const landed = async (tx: Parameters<TxSubmitter['submit']>[0], signer = viewer) => {
    const r = await submitter.submit(tx, signer);
    if (!r.ok) throw new Error(`expected success, got ${r.status} ${r.error.section}.${r.error.name}`);
    return r;
  };
  const tipRemark = (streamId: string, messageId: string) =>
    client.api.tx.system.remarkWithEvent(formatRemark({ kind: 'tip', streamId, messageId }));

  test('buildTip refuses ids outside the charset and amounts outside (0, u128] with stable codes', () => {
    const base = { creator: creator.address, streamId: 's1', messageId: 'm1', asset: 'native' as const };
    expect(() => buildTip(client, { ...base, amount: 0n })).toThrow(
      expect.objectContaining({ code: 'AMOUNT_INVALID' }),
    );
    expect(() => buildTip(client, { ...base, amount: -5n })).toThrow(
      expect.objectContaining({ code: 'AMOUNT_INVALID' }),
    );
    expect(() => buildTip(client, { ...base, amount: U128_MAX + 1n })).toThrow(
      expect.objectContaining({ code: 'AMOUNT_INVALID' }),
    );
    expect(() => buildTip(client, { ...base, streamId: 'a:b', amount: 1n })).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST', details: { field: 'streamId' } }),
    );
    expect(() => buildTip(client, { ...base, messageId: '', amount: 1n })).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST', details: { field: 'messageId' } }),
    );
  });

  test('a native tip decodes with the amount the chain transferred', async () => {
    const before = await native(creator.address);
    const amount = 123_456_789_012n;
    const r = await landed(
      buildTip(client, { creator: creator.address, streamId: 'live-1', messageId: 'msg-1', asset: 'native', amount }),
    );
    expect(await native(creator.address)).toBe(before + amount);
    const events = await decodeBlock(client.api, r.blockHash, 42);
    expect(events).toEqual([
      expect.objectContaining({
        type: 'tip',
        streamId: 'live-1',
        messageId: 'msg-1',
        from: viewer.address,
        creator: creator.address,
        asset: 'native',
        amount,
        blockHash: r.blockHash,
        extrinsicIndex: r.extrinsicIndex,
      }),
    ]);
    const [tip] = events as TipEvent[];
    expect(tip?.id).toBe(`${r.blockHash}:${r.extrinsicIndex}:${tip?.eventIndex}`);
  });

  test('an asset tip decodes with the asset and its Transferred amount', async () => {
    const before = await assetOf(creator.address);
    const r = await landed(
      buildTip(client, {
        creator: creator.address,
        streamId: 'live-a',
        messageId: 'msg-a',
        asset: DEV_ASSET.id,
        amount: 4_321n,
      }),
    );
    expect(await assetOf(creator.address)).toBe(before + 4_321n);
    expect(await decodeBlock(client.api, r.blockHash, 42)).toEqual([
      expect.objectContaining({ type: 'tip', asset: DEV_ASSET.id, amount: 4_321n, creator: creator.address }),
    ]);
  });

  test('a tip remark with no transfer before it is no tip', async () => {
    const { api } = client;
    const bare = await landed(tipRemark('live-1', 'alone-1'));
    const batched = await landed(api.tx.utility.batchAll([tipRemark('live-1', 'alone-2')]));
    const after = await landed(
      api.tx.utility.batchAll([tipRemark('live-1', 'after'), api.tx.balances.transferKeepAlive(creator.address, 5n)]),
    );
    for (const r of [bare, batched, after]) expect(await decodeBlock(client.api, r.blockHash, 42)).toEqual([]);
  });

  test('the recipient is whoever the transfer paid; zero, self and split transfers are no tip', async () => {
    const { api } = client;
    const elsewhere = await landed(
      api.tx.utility.batchAll([api.tx.balances.transferKeepAlive(stranger.address, 777n), tipRemark('live-1', 'm-x')]),
    );
    expect(await decodeBlock(client.api, elsewhere.blockHash, 42)).toEqual([
      expect.objectContaining({ type: 'tip', creator: stranger.address, from: viewer.address, amount: 777n }),
    ]);
    const self = await landed(
      api.tx.utility.batchAll([api.tx.balances.transferKeepAlive(viewer.address, 1_000n), tipRemark('live-1', 'm-s')]),
    );
    const zero = await landed(
      api.tx.utility.batchAll([api.tx.balances.transferKeepAlive(creator.address, 0n), tipRemark('live-1', 'm-0')]),
    );
    const split = await landed(
      api.tx.utility.batchAll([
        api.tx.balances.transferKeepAlive(creator.address, 10n),
        api.tx.balances.transferKeepAlive(creator.address, 20n),
        tipRemark('live-1', 'm-2'),
      ]),
    );
    for (const r of [self, zero, split]) expect(await decodeBlock(client.api, r.blockHash, 42)).toEqual([]);
  });

  test('a tip whose transfer fails is nothing: the batch rolls back whole', async () => {
    const key = createSessionKey(42);
    await landed(
      buildFunding(client, { sessionId: 'poor', sessionAccount: key.address, asset: 'native', budget: 10n ** 12n }),
    );
    const before = await native(creator.address);
    const r = await submitter.submit(
      buildTip(client, {
        creator: creator.address,
        streamId: 'live-1',
        messageId: 'too-much',
        asset: 'native',
        amount: 10n ** 13n,
      }),
      sessionKeyPair(key, 42),
    );
    expect(r).toMatchObject({ ok: false, status: 'dispatchError' });
    if (r.ok || !r.blockHash) throw new Error('expected an included failure');
    expect(r.events.some((e) => e.method === 'Remarked')).toBe(false);
    expect(await decodeBlock(client.api, r.blockHash, 42)).toEqual([]);
    expect(await native(creator.address)).toBe(before);
  });

  test('the watcher delivers a tip pending, then final, with the same id', async () => {
    const deliveries: WatchedBlock[] = [];
    const watcher = await SettlementWatcher.start(client, { onBlock: (d) => void deliveries.push(d) });
    try {
      const r = await landed(
        buildTip(client, {
          creator: creator.address,
          streamId: 'live-w',
          messageId: 'msg-w',
          asset: 'native',
          amount: 9_999n,
        }),
      );
      const deadline = Date.now() + 30_000;
      while (watcher.cursor.number < (await client.api.rpc.chain.getHeader()).number.toNumber()) {
        if (Date.now() > deadline) throw new Error('the watcher did not reach the head');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const tipsOf = (status: 'pending' | 'final') =>
        deliveries.flatMap((d) => (d.status === status ? d.block.events.filter((e) => e.type === 'tip') : []));
      const pending = tipsOf('pending');
      expect(pending).toEqual([
        expect.objectContaining({ type: 'tip', messageId: 'msg-w', amount: 9_999n, blockHash: r.blockHash }),
      ]);
      expect(tipsOf('final')).toEqual(pending);
      const statuses = deliveries.filter((d) => d.block.hash === r.blockHash).map((d) => d.status);
      expect(statuses).toEqual(['pending', 'final']);
    } finally {
      await watcher.close();
    }
  });
});
