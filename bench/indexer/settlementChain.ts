import {
  buildFunding,
  buildSettlement,
  type ChainClient,
  createSessionKey,
  sessionKeyPair,
  type Tx,
} from '@persecond/contracts-client';
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';

/**
 * Submits one transaction per signer and seals blocks (Manual mode) until each is in one (chopsticks validates into
 * its pool asynchronously, so a transaction can miss the first block); checks every one succeeded.
 */
async function seal(client: ChainClient, txs: Array<[Tx, KeyringPair]>): Promise<void> {
  let pending = txs.length;
  const waits = txs.map(([tx, signer]) => {
    let markReady!: () => void;
    let done!: (ok: boolean) => void;
    const ready = new Promise<void>((resolve) => {
      markReady = resolve;
    });
    const inBlock = new Promise<boolean>((resolve) => {
      done = (ok) => {
        pending--;
        resolve(ok);
      };
    });
    const sent = tx.signAndSend(signer, { nonce: -1 }, ({ status, dispatchError }) => {
      if (status.isReady || status.isBroadcast) markReady();
      if (status.isInBlock) {
        markReady();
        done(dispatchError === undefined);
      } else if (status.isInvalid || status.isDropped) done(false);
    });
    return { sent, ready, inBlock };
  });
  const unsubs = await Promise.all(waits.map((w) => w.sent));
  await Promise.all(waits.map((w) => w.ready));
  for (let attempt = 0; attempt < 5 && pending > 0; attempt++) {
    await client.api.rpc('dev_newBlock' as never);
    const deadline = Date.now() + 15_000;
    while (pending > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }
  const ok = await Promise.all(waits.map((w) => w.inBlock));
  for (const u of unsubs) u();
  if (ok.includes(false)) throw new Error('a transaction failed');
}

/**
 * Fills a Manual-mode dev chain with `blocks` blocks of `perBlock` settlements each (one per session account, all
 * paying Alice, Bob or Charlie), after funding the sessions. Returns the settlements written.
 */
export async function buildSettlementChain(client: ChainClient, blocks: number, perBlock: number): Promise<number> {
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  const creators = ['Alice', 'Bob', 'Charlie'].map((n) => keyring.addFromUri(`//${n}`));
  const funders = ['Dave', 'Eve', 'Ferdie'].map((n) => keyring.addFromUri(`//${n}`));
  const sessions = Array.from({ length: perBlock }, (_, i) => ({
    id: `bench-${i}`,
    pair: sessionKeyPair(createSessionKey(42), 42),
    creator: creators[i % creators.length]!,
    seq: 0,
  }));
  for (let i = 0; i < sessions.length; i += funders.length) {
    console.error(`  funding sessions ${i + 1}-${Math.min(i + funders.length, sessions.length)}`);
    await seal(
      client,
      sessions.slice(i, i + funders.length).map((s, j) => [
        buildFunding(client, {
          sessionId: s.id,
          sessionAccount: s.pair.address,
          asset: 'native',
          budget: 10n ** 16n,
        }),
        funders[j]!,
      ]),
    );
  }
  for (let b = 0; b < blocks; b++) {
    if (b % 5 === 0) console.error(`  settlement block ${b + 1}/${blocks}`);
    await seal(
      client,
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
        return [tx, s.pair] as [Tx, KeyringPair];
      }),
    );
  }
  return blocks * perBlock;
}
