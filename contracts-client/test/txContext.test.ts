// The builders on a bare ApiPromise (the dapp's connection) produce exactly the extrinsics they build on a ChainClient.
import { ApiPromise, WsProvider } from '@polkadot/api';
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
  DEV_ACCOUNTS,
  DEV_ASSET,
  type DevChain,
  startDevChain,
  txContext,
} from '../src/index.ts';

const CID = 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku';

let dev: DevChain | undefined;
let client: ChainClient | undefined;
let bare: ApiPromise | undefined;

beforeAll(async () => {
  await cryptoWaitReady();
  dev = await startDevChain();
  client = await connect(dev.wsUrl);
  bare = await ApiPromise.create({ provider: new WsProvider(dev.wsUrl), noInitWarn: true });
}, 120_000);
afterAll(async () => {
  await bare?.disconnect();
  await client?.close();
  await dev?.close();
});

describe('txContext', () => {
  test('reads the same assets fact as connect', () => {
    if (!client || !bare) throw new Error('not started');
    expect(client.facts.hasAssets).toBe(true);
    expect(txContext(bare).facts.hasAssets).toBe(client.facts.hasAssets);
  });

  test('builds byte-identical extrinsics', async () => {
    if (!client || !bare) throw new Error('not started');
    const ctx = txContext(bare);
    const key = createSessionKey(42);
    const ids = { streamId: 'stream-1', sessionId: 'session-1' };
    const pay = { ...ids, seq: 4, creator: DEV_ACCOUNTS.Alice, asset: DEV_ASSET.id, amount: 40n };
    const fund = {
      sessionId: ids.sessionId,
      sessionAccount: key.address,
      asset: DEV_ASSET.id,
      budget: 1_000n,
      feeTopUp: 10n ** 11n,
    };
    const final = { ...pay, sessionAccount: key.address, wallet: DEV_ACCOUNTS.Bob };
    expect(buildAnnouncement(ctx, { streamId: ids.streamId, metadataCid: CID }).toHex()).toBe(
      buildAnnouncement(client, { streamId: ids.streamId, metadataCid: CID }).toHex(),
    );
    expect(buildFunding(ctx, fund).toHex()).toBe(buildFunding(client, fund).toHex());
    expect(buildSettlement(ctx, pay).toHex()).toBe(buildSettlement(client, pay).toHex());
    expect((await buildFinalSettlement(ctx, final)).toHex()).toBe((await buildFinalSettlement(client, final)).toHex());
  });

  test('refuses asset transfers on a chain without the assets pallet', () => {
    if (!bare) throw new Error('not started');
    const noAssets = { api: bare, facts: { hasAssets: false } };
    expect(() =>
      buildSettlement(noAssets, {
        streamId: 's',
        sessionId: 'x',
        seq: 1,
        creator: DEV_ACCOUNTS.Alice,
        asset: DEV_ASSET.id,
        amount: 1n,
      }),
    ).toThrow(expect.objectContaining({ code: 'CHAIN_UNSUPPORTED' }));
  });
});
