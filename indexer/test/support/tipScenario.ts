import { buildTip, type ChainClient, DEV_ASSET, formatRemark, type Tx } from '@persecond/contracts-client';
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { EventRecord } from '@polkadot/types/interfaces';
import { type Scenario, sealBlock } from './scenario.ts';

/** Who tipped in a tip scenario: each honest tipper tips one stream's announced creator and does nothing else. */
export interface TipScenario {
  /** Tipper address → the creator it tips. */
  tippers: Map<string, string>;
  /** Tips that landed (tippers' batches). */
  tips: number;
}

/** One transfer read straight from the chain's events (balances.Transfer or assets.Transferred). */
export interface ChainTransfer {
  block: number;
  time: number;
  from: string;
  to: string;
  asset: string;
  amount: bigint;
}

/**
 * After a settlement scenario: `blocks` blocks in which two tippers tip the first two creators' streams (uneven
 * amounts, the second alternating native and the dev asset), beside one piece of noise per block that is no earning
 * of anyone: a tip remark on a transfer to a non-creator, a tip on Bob's stream paid to Alice, a plain transfer to a
 * creator, a bare tip remark, a tip on a stream nobody announced, and a tip that fails on chain.
 */
export async function runTipScenario(client: ChainClient, live: Scenario, blocks: number): Promise<TipScenario> {
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  const dev = (name: string) => keyring.addFromUri(`//${name}`);
  const { api } = client;
  const [alice, bob] = live.creators;
  if (!alice || !bob) throw new Error('the settlement scenario has fewer than two creators');
  const honest = [
    { pair: dev('Tipper0'), to: alice, asset: () => 'native' as const },
    { pair: dev('Tipper1'), to: bob, asset: (i: number) => (i % 2 === 0 ? ('native' as const) : DEV_ASSET.id) },
  ];
  const trickster = dev('Trickster');
  const pauper = dev('Pauper');
  const funded = await sealBlock(client, [
    [
      api.tx.utility.batchAll([
        ...[...honest.map((h) => h.pair), trickster].map((p) =>
          api.tx.balances.transferKeepAlive(p.address, 10n ** 17n),
        ),
        api.tx.balances.transferKeepAlive(pauper.address, 10n ** 12n),
        ...honest.map((h) => api.tx.assets.transferKeepAlive(DEV_ASSET.id, h.pair.address, 10n ** 9n)),
      ]),
      dev('Dave'),
    ],
  ]);
  if (!funded[0]) throw new Error('funding the tippers failed');

  const remark = (streamId: string, messageId: string) =>
    api.tx.system.remarkWithEvent(formatRemark({ kind: 'tip', streamId, messageId }));
  const noise = (i: number): Array<[Tx, KeyringPair]> => {
    const tx = [
      api.tx.utility.batchAll([
        api.tx.balances.transferKeepAlive(dev('Ferdie').address, 1_111n),
        remark(alice.streamId, 'n0'),
      ]),
      api.tx.utility.batchAll([
        api.tx.balances.transferKeepAlive(alice.pair.address, 2_222n),
        remark(bob.streamId, 'n1'),
      ]),
      api.tx.balances.transferKeepAlive(alice.pair.address, 3_333n),
      api.tx.utility.batchAll([remark(alice.streamId, 'n3')]),
      api.tx.utility.batchAll([api.tx.balances.transferKeepAlive(alice.pair.address, 4_444n), remark('ghost', 'n4')]),
    ][i % 5];
    return tx ? [[tx, trickster]] : [];
  };

  let tips = 0;
  for (let i = 0; i < blocks; i++) {
    const txs: Array<[Tx, KeyringPair]> = honest.map((h, t) => [
      buildTip(client, {
        creator: h.to.pair.address,
        streamId: h.to.streamId,
        messageId: `tip-${t}-${i}`,
        asset: h.asset(i),
        amount: BigInt(1_000_003 * (i + 1) + 7919 * t) * (h.asset(i) === 'native' ? 10n ** 6n : 1n),
      }),
      h.pair,
    ]);
    txs.push(...noise(i));
    if (i === 0) {
      txs.push([
        buildTip(client, {
          creator: alice.pair.address,
          streamId: alice.streamId,
          messageId: 'broke',
          asset: 'native',
          amount: 10n ** 14n,
        }),
        pauper,
      ]);
    }
    const ok = await sealBlock(client, txs);
    if (ok.slice(0, honest.length).includes(false)) throw new Error('a tip failed');
    if (i === 0 && ok.at(-1) !== false) throw new Error('the over-balance tip should have failed');
    tips += honest.length;
  }
  return { tippers: new Map(honest.map((h) => [h.pair.address, h.to.pair.address])), tips };
}

/** Every transfer of blocks 1..`toBlock` from one of `senders`, native and assets, read from the chain's events. */
export async function transfersFrom(
  client: ChainClient,
  senders: Set<string>,
  toBlock: number,
): Promise<ChainTransfer[]> {
  const { api } = client;
  const keyring = new Keyring({ ss58Format: 42 });
  const address = (codec: { toU8a(): Uint8Array } | undefined) => keyring.encodeAddress(codec!.toU8a(), 42);
  const out: ChainTransfer[] = [];
  for (let block = 1; block <= toBlock; block++) {
    const at = await api.at(await api.rpc.chain.getBlockHash(block));
    const [records, now] = await Promise.all([at.query.system.events(), at.query.timestamp.now()]);
    const time = Number(now.toString());
    for (const { event } of records as unknown as EventRecord[]) {
      const d = event.data;
      let t: ChainTransfer | undefined;
      if (event.section === 'balances' && event.method === 'Transfer') {
        t = { block, time, from: address(d[0]), to: address(d[1]), asset: 'native', amount: BigInt(d[2]!.toString()) };
      } else if (event.section === 'assets' && event.method === 'Transferred') {
        const asset = d[0]!.toString();
        t = { block, time, from: address(d[1]), to: address(d[2]), asset, amount: BigInt(d[3]!.toString()) };
      }
      if (t && senders.has(t.from)) out.push(t);
    }
  }
  return out;
}
