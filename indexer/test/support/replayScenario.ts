import {
  type Asset,
  buildFinalSettlement,
  buildFunding,
  buildSettlement,
  type ChainClient,
  createSessionKey,
  DEV_ASSET,
  formatRemark,
  sessionKeyPair,
  type Tx,
} from '@persecond/contracts-client';
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import { type Scenario, sealBlock } from './scenario.ts';

/** Replay sessions paying with `ps1:replay`: their accounts, and the final settlements still to send. */
export interface ReplayScenario {
  /** Replay session account → the creator it pays. */
  sessionAccounts: Map<string, string>;
  /** Seals one block with every replay session's final settlement (`ps1:replay`) and refund. */
  finish(): Promise<void>;
}

/**
 * After a settlement scenario: two replay sessions (one on Alice's stream in the native token, one on Bob's in the dev
 * asset) funded, then `blocks` blocks of `ps1:replay` settlements with uneven amounts, beside one piece of noise per
 * block from an account that is no replay session and earns no one anything: a replay remark on a transfer to a
 * non-creator, one on a stream nobody announced, one on Bob's stream paid to Alice, and a live remark on Alice's stream
 * paid to Bob.
 */
export async function runReplayScenario(client: ChainClient, live: Scenario, blocks: number): Promise<ReplayScenario> {
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  const dev = (name: string) => keyring.addFromUri(`//${name}`);
  const { api } = client;
  const [alice, bob] = live.creators;
  if (!alice || !bob) throw new Error('the settlement scenario has fewer than two creators');
  const trickster = dev('ReplayTrickster');
  const sessions = [
    { wallet: dev('ReplayViewer0'), to: alice, asset: 'native' as Asset, unit: 10n ** 6n },
    { wallet: dev('ReplayViewer1'), to: bob, asset: DEV_ASSET.id as Asset, unit: 1n },
  ].map((s, i) => ({ ...s, id: `replay-sess-${i}`, pair: sessionKeyPair(createSessionKey(42), 42), seq: 0 }));

  const wallets = await sealBlock(client, [
    [
      api.tx.utility.batchAll([
        ...[...sessions.map((s) => s.wallet), trickster].map((p) =>
          api.tx.balances.transferKeepAlive(p.address, 10n ** 17n),
        ),
        ...sessions.map((s) => api.tx.assets.transferKeepAlive(DEV_ASSET.id, s.wallet.address, 10n ** 9n)),
      ]),
      dev('Dave'),
    ],
  ]);
  if (!wallets[0]) throw new Error('funding the replay wallets failed');
  const funded = await sealBlock(
    client,
    sessions.map((s): [Tx, KeyringPair] => [
      buildFunding(client, {
        sessionId: s.id,
        sessionAccount: s.pair.address,
        asset: s.asset,
        budget: s.asset === 'native' ? 10n ** 15n : 10n ** 8n,
        ...(s.asset === 'native' ? {} : { feeTopUp: 10n ** 13n }),
      }),
      s.wallet,
    ]),
  );
  if (funded.includes(false)) throw new Error('a replay funding failed');

  const paid = (kind: 'pay' | 'replay', streamId: string, to: string, amount: bigint) =>
    api.tx.utility.batchAll([
      api.tx.balances.transferKeepAlive(to, amount),
      api.tx.system.remarkWithEvent(formatRemark({ kind, streamId, sessionId: 'replay-trick', seq: 1 })),
    ]);
  const noise = (i: number): Tx =>
    [
      paid('replay', alice.streamId, dev('Ferdie').address, 5_555n),
      paid('replay', 'ghost', alice.pair.address, 6_666n),
      paid('replay', bob.streamId, alice.pair.address, 7_777n),
      paid('pay', alice.streamId, bob.pair.address, 8_888n),
    ][i % 4]!;

  for (let i = 0; i < blocks; i++) {
    const txs = sessions.map((s, n): [Tx, KeyringPair] => {
      s.seq += 3 + i + n;
      const amount = BigInt(2_000_029 * (i + 1) + 6_007 * n) * s.unit;
      return [
        buildSettlement(client, {
          kind: 'replay',
          streamId: s.to.streamId,
          sessionId: s.id,
          seq: s.seq,
          creator: s.to.pair.address,
          asset: s.asset,
          amount,
        }),
        s.pair,
      ];
    });
    txs.push([noise(i), trickster]);
    const ok = await sealBlock(client, txs);
    if (ok.includes(false)) throw new Error('a replay settlement or its noise failed');
  }

  return {
    sessionAccounts: new Map(sessions.map((s) => [s.pair.address, s.to.pair.address])),
    async finish() {
      const finals = await Promise.all(
        sessions.map(
          async (s): Promise<[Tx, KeyringPair]> => [
            await buildFinalSettlement(client, {
              kind: 'replay',
              streamId: s.to.streamId,
              sessionId: s.id,
              seq: s.seq + 2,
              creator: s.to.pair.address,
              asset: s.asset,
              amount: 1_234_567n * s.unit,
              sessionAccount: s.pair.address,
              wallet: s.wallet.address,
            }),
            s.pair,
          ],
        ),
      );
      if ((await sealBlock(client, finals)).includes(false)) throw new Error('a final replay settlement failed');
    },
  };
}
