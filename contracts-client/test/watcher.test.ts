import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  buildFunding,
  buildSettlement,
  type ChainClient,
  connect,
  createSessionKey,
  type DevChain,
  type SettlementEvent,
  SettlementWatcher,
  sessionKeyPair,
  startDevChain,
  TxSubmitter,
  type WatchedBlock,
} from '../src/index.ts';
import { TcpProxy } from './support/TcpProxy.ts';

let dev: DevChain;
let direct: ChainClient;
let proxied: ChainClient;
let proxy: TcpProxy;
let submitter: TxSubmitter;
const kr = new Keyring({ type: 'sr25519', ss58Format: 42 });
const wallets = ['//Alice', '//Bob', '//Charlie'].map((uri) => kr.addFromUri(uri));
const creator = kr.addFromUri('//Dave').address;

beforeAll(async () => {
  await cryptoWaitReady();
  dev = await startDevChain({ createAsset: false, mode: 'Batch' });
  direct = await connect(dev.wsUrl);
  proxy = await TcpProxy.start(dev.port);
  proxied = await connect(`ws://127.0.0.1:${proxy.port}`, { reconnectMs: 200 });
  submitter = new TxSubmitter(direct.api);
});
afterAll(async () => {
  await proxied?.close();
  await proxy?.close();
  await direct?.close();
  await dev?.close();
});

const until = async (cond: () => boolean, ms = 30_000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('SettlementWatcher', () => {
  test('attributes 3 concurrent viewers’ settlements exactly, through a forced reconnect', async () => {
    const sessions = wallets.map((wallet, i) => ({
      wallet,
      sessionId: `sess-${i}`,
      streamId: i === 2 ? 'stream-b' : 'stream-a',
      key: createSessionKey(42),
    }));
    const funded = await Promise.all(
      sessions.map((s) =>
        submitter.submit(
          buildFunding(direct, {
            sessionId: s.sessionId,
            sessionAccount: s.key.address,
            asset: 'native',
            budget: 10n ** 14n,
          }),
          s.wallet,
        ),
      ),
    );
    expect(funded.every((r) => r.ok)).toBe(true);

    const deliveries: WatchedBlock[] = [];
    const watcher = await SettlementWatcher.start(proxied, {
      onBlock: (d) => {
        deliveries.push(d);
      },
      retryMs: 200,
    });
    const startCursor = watcher.cursor;
    const expected: { sessionId: string; streamId: string; seq: number; amount: bigint }[] = [];
    const settleRound = async (round: number) => {
      const results = await Promise.all(
        sessions.map((s, i) => {
          const amount = BigInt(1_000_000 * (round + 1) + i * 7 + round);
          expected.push({ sessionId: s.sessionId, streamId: s.streamId, seq: round * 10 + i, amount });
          return submitter.submit(
            buildSettlement(direct, {
              streamId: s.streamId,
              sessionId: s.sessionId,
              seq: round * 10 + i,
              creator,
              asset: 'native',
              amount,
            }),
            sessionKeyPair(s.key, 42),
          );
        }),
      );
      expect(results.every((r) => r.ok)).toBe(true);
    };

    await settleRound(0);
    proxy.drop();
    await until(() => !proxied.api.isConnected);
    await settleRound(1);
    proxy.resume();
    await settleRound(2);

    const head = (await direct.api.rpc.chain.getHeader()).number.toNumber();
    await until(() => watcher.cursor.number >= head);
    await watcher.close();
    expect(await watcher.closed).toBeUndefined();

    // Every block after the start cursor is delivered once pending, then once final, in chain order.
    const finals = deliveries.filter((d) => d.status === 'final').map((d) => d.block.number);
    const pendings = deliveries.filter((d) => d.status === 'pending').map((d) => d.block.number);
    const range = Array.from({ length: head - startCursor.number }, (_, i) => startCursor.number + 1 + i);
    expect(finals).toEqual(range);
    expect(pendings).toEqual(range);
    expect(deliveries.some((d) => d.status === 'retracted')).toBe(false);

    const settled = (status: 'pending' | 'final') =>
      deliveries
        .filter((d) => d.status === status)
        .flatMap((d) => (d.status === 'retracted' ? [] : d.block.events))
        .filter((e): e is SettlementEvent => e.type === 'settlement');
    for (const status of ['pending', 'final'] as const) {
      const got = settled(status);
      expect(new Set(got.map((e) => e.id)).size).toBe(got.length);
      const byKey = (x: { sessionId: string; seq: number }) => `${x.sessionId}/${x.seq}`;
      expect(
        got
          .map((e) => ({ sessionId: e.sessionId, streamId: e.streamId, seq: e.seq, amount: e.amount }))
          .sort((a, b) => byKey(a).localeCompare(byKey(b))),
      ).toEqual([...expected].sort((a, b) => byKey(a).localeCompare(byKey(b))));
      for (const e of got) {
        const s = sessions.find((x) => x.sessionId === e.sessionId);
        expect(e.payer).toBe(s?.key.address);
        expect(e.creator).toBe(creator);
      }
    }
  });

  test('resumes from a cursor: backfills final blocks with the same ids, and stops on a failing handler', async () => {
    const blocks: WatchedBlock[] = [];
    const first = await SettlementWatcher.start(direct, { onBlock: (d) => void blocks.push(d) });
    const cursor = first.cursor;
    const key = createSessionKey(42);
    await submitter.submit(
      buildFunding(direct, { sessionId: 'resume', sessionAccount: key.address, asset: 'native', budget: 10n ** 13n }),
      wallets[0]!,
    );
    const pay = await submitter.submit(
      buildSettlement(direct, {
        streamId: 'stream-r',
        sessionId: 'resume',
        seq: 1,
        creator,
        asset: 'native',
        amount: 777n,
      }),
      sessionKeyPair(key, 42),
    );
    if (!pay.ok) throw new Error('settlement failed');
    await until(() => first.cursor.hash === pay.blockHash);
    await first.close();

    const replayed: WatchedBlock[] = [];
    const second = await SettlementWatcher.start(direct, {
      from: cursor,
      onBlock: (d) => {
        replayed.push(d);
        if (d.status === 'final' && d.block.hash === pay.blockHash) throw new Error('disk full');
      },
    });
    const stoppedBy = await second.closed;
    expect(stoppedBy).toBeInstanceOf(Error);
    const finals = (list: WatchedBlock[]) => list.filter((d) => d.status === 'final').map((d) => d.block);
    expect(finals(replayed)).toEqual(finals(blocks));
    const settlement = finals(replayed)
      .flatMap((b) => b.events)
      .find((e) => e.type === 'settlement');
    expect(settlement).toMatchObject({ sessionId: 'resume', amount: 777n, id: expect.stringContaining(pay.blockHash) });
    await second.close();

    // From the (synthetic) genesis: every block since is delivered final, in order, exactly once.
    const fromGenesis: number[] = [];
    const third = await SettlementWatcher.start(direct, {
      from: { number: 0, hash: direct.facts.genesisHash },
      onBlock: (d) => {
        if (d.status === 'final') fromGenesis.push(d.block.number);
      },
    });
    await until(() => third.cursor.number >= cursor.number);
    await third.close();
    expect(fromGenesis).toEqual(Array.from({ length: fromGenesis.length }, (_, i) => i + 1));
  });

  test('closing the client closes its watchers and submitters first', async () => {
    const own = await connect(dev.wsUrl);
    const watcher = await SettlementWatcher.start(own, { onBlock: () => undefined });
    const ownSubmitter = new TxSubmitter(own.api);
    await own.close();
    await own.close();
    expect(await watcher.closed).toBeUndefined();
    await expect(
      ownSubmitter.submit(
        buildFunding(own, { sessionId: 'x', sessionAccount: creator, asset: 'native', budget: 1n }),
        wallets[0]!,
      ),
    ).rejects.toMatchObject({ code: 'CLOSED' });
  });
});
