import {
  buildFunding,
  buildSettlement,
  type ChainClient,
  createSessionKey,
  sessionKeyPair,
  type Tx,
} from '@persecond/contracts-client';
import { WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';

/**
 * Seals one block with `txs` handed straight to `dev_newBlock`, each signed here (immortal) with the nonce tracked
 * by the caller: no pool, no validation round trip, so a chain of hundreds of blocks is quick to build. A transaction
 * the block cannot apply is dropped by chopsticks; the caller checks the decoded result.
 */
async function sealDirect(builder: WsProvider, txs: Array<[Tx, KeyringPair, number]>): Promise<void> {
  const transactions = await Promise.all(
    txs.map(async ([tx, signer, nonce]) => (await tx.signAsync(signer, { nonce, era: 0 })).toHex()),
  );
  await builder.send('dev_newBlock', [{ transactions }]);
}

/**
 * Fills a Manual-mode dev chain with `blocks` blocks of `perBlock` settlements each (one per session account, all
 * paying Alice, Bob or Charlie), after funding the sessions; every block is sealed with `sealDirect`. Returns the
 * settlements submitted (the benchmark checks that the indexer decodes exactly that many).
 */
export async function buildSettlementChain(
  client: ChainClient,
  wsUrl: string,
  blocks: number,
  perBlock: number,
): Promise<number> {
  // Its own connection with a long request timeout: on a loaded machine building a block can take over 15 s.
  const builder = new WsProvider(wsUrl, 1000, {}, 300_000);
  await builder.isReady;
  try {
    return await fillChain(client, builder, blocks, perBlock);
  } finally {
    await builder.disconnect();
  }
}

async function fillChain(client: ChainClient, builder: WsProvider, blocks: number, perBlock: number): Promise<number> {
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  const creators = ['Alice', 'Bob', 'Charlie'].map((n) => keyring.addFromUri(`//${n}`));
  const funders = ['Dave', 'Eve', 'Ferdie'].map((n) => keyring.addFromUri(`//${n}`));
  const sessions = Array.from({ length: perBlock }, (_, i) => ({
    id: `bench-${i}`,
    pair: sessionKeyPair(createSessionKey(42), 42),
    creator: creators[i % creators.length]!,
    seq: 0,
    nonce: 0,
  }));
  const nonces = new Map<string, number>();
  for (const f of funders) nonces.set(f.address, (await client.api.rpc.system.accountNextIndex(f.address)).toNumber());
  for (let i = 0; i < sessions.length; i += funders.length) {
    console.error(`  funding sessions ${i + 1}-${Math.min(i + funders.length, sessions.length)}`);
    await sealDirect(
      builder,
      sessions.slice(i, i + funders.length).map((s, j) => {
        const funder = funders[j]!;
        const nonce = nonces.get(funder.address)!;
        nonces.set(funder.address, nonce + 1);
        return [
          buildFunding(client, {
            sessionId: s.id,
            sessionAccount: s.pair.address,
            asset: 'native',
            budget: 10n ** 16n,
          }),
          funder,
          nonce,
        ];
      }),
    );
  }
  const startedAt = Date.now();
  for (let b = 0; b < blocks; b++) {
    if (b % 50 === 0) {
      console.error(`  settlement block ${b + 1}/${blocks} (${((Date.now() - startedAt) / 1000).toFixed(0)} s)`);
    }
    await sealDirect(
      builder,
      sessions.map((s, i) => {
        s.seq += 10;
        const amount = 1_000_000_007n * BigInt(10 + ((b + i) % 7));
        const tx = buildSettlement(client, {
          streamId: `bench-stream-${i % creators.length}`,
          sessionId: s.id,
          seq: s.seq,
          creator: s.creator.address,
          asset: 'native',
          amount,
        });
        return [tx, s.pair, s.nonce++];
      }),
    );
  }
  return blocks * perBlock;
}
