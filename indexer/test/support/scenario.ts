import {
  buildAnnouncement,
  buildFinalSettlement,
  buildFunding,
  buildSettlement,
  type ChainClient,
  createSessionKey,
  sessionKeyPair,
  type Tx,
} from '@persecond/contracts-client';
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { EventRecord } from '@polkadot/types/interfaces';

/** A (valid, canonical) CIDv1 used as stream metadata in chain scenarios. */
export const SAMPLE_CID = 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy';

/**
 * Signs and submits `txs` (one per signer) on a Manual-mode chain and seals blocks until each is in one (one that threw
 * while being applied goes back to chopsticks' pool for the next block). Resolves with each one's success.
 * Transactions are immortal: a mortal one is anchored to the head the API last saw, which a `dev_setHead` may abandon.
 */
export async function sealBlock(client: ChainClient, txs: Array<[Tx, KeyringPair]>): Promise<boolean[]> {
  // Nonces from storage: `nonce: -1` has polkadot.js run the AccountNonceApi in chopsticks' wasm for every signer, and
  // 15 of those at once on a loaded machine outlasted the client's 15 s RPC timeout.
  const nonces = new Map<string, number>();
  for (const [, signer] of txs) {
    if (nonces.has(signer.address)) continue;
    const account = await client.api.query.system.account(signer.address);
    nonces.set(signer.address, account.nonce.toNumber());
  }
  const submissions = txs.map(([tx, signer]) => {
    const nonce = nonces.get(signer.address)!;
    nonces.set(signer.address, nonce + 1);
    let markReady!: () => void;
    let settle!: { resolve: (ok: boolean) => void; reject: (err: Error) => void };
    const ready = new Promise<void>((resolve) => {
      markReady = resolve;
    });
    const included = new Promise<boolean>((resolve, reject) => {
      settle = { resolve, reject };
    });
    const submitted = tx.signAndSend(signer, { nonce, era: 0 }, ({ status, dispatchError }) => {
      if (status.isReady || status.isBroadcast) markReady();
      // chopsticks reports Finalized 100 ms after InBlock, and polkadot.js drops the InBlock result (it switches to
      // the newer status) when fetching that block's events takes longer: Finalized alone must count as included.
      if (status.isInBlock || status.isFinalized) {
        markReady();
        settle.resolve(dispatchError === undefined);
      } else if (status.isInvalid || status.isDropped || status.isUsurped) {
        settle.reject(new Error(`transaction ${status.type}`));
      }
    });
    return { submitted, ready, included, done: false };
  });
  const unsubs = await Promise.all(submissions.map((s) => s.submitted));
  try {
    const readyTimeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('a transaction never became ready in the pool')), 60_000).unref(),
    );
    await Promise.race([Promise.all(submissions.map((s) => s.ready)), readyTimeout]);
    for (const s of submissions) void s.included.finally(() => (s.done = true)).catch(() => undefined);
    for (let attempt = 0; attempt < 5 && submissions.some((s) => !s.done); attempt++) {
      await client.api.rpc('dev_newBlock' as never);
      const deadline = Date.now() + 15_000;
      while (submissions.some((s) => !s.done) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    }
    if (submissions.some((s) => !s.done)) throw new Error('a transaction was not included after 5 blocks');
    return await Promise.all(submissions.map((s) => s.included));
  } finally {
    for (const unsub of unsubs) unsub();
  }
}

/** Who took part in a settlement scenario. */
export interface Scenario {
  creators: Array<{ pair: KeyringPair; streamId: string }>;
  sessionAccounts: Set<string>;
  /** Successful pay batches submitted. */
  settlements: number;
}

/**
 * `viewers` × `creators.length` sessions on a Manual-mode dev chain: announcements, fundings, `rounds` settlement
 * blocks with uneven amounts, one over-budget settlement that fails on chain, a plain (non-protocol) transfer to a
 * creator, and a final settle-and-refund per session.
 */
export async function runSettlementScenario(
  client: ChainClient,
  opts: { viewers: number; rounds: number; afterBlock?: () => Promise<void> },
): Promise<Scenario> {
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  const dev = (name: string) => keyring.addFromUri(`//${name}`);
  const creators = ['Alice', 'Bob', 'Charlie'].map((name, i) => ({ pair: dev(name), streamId: `stream-${name}-${i}` }));
  const prices = [1_000_000_007n, 2_345_678_901n, 99_999_999_999n];
  const wallets = Array.from({ length: opts.viewers }, (_, i) => dev(`Viewer${i}`));
  const seal = async (txs: Array<[Tx, KeyringPair]>) => {
    const ok = await sealBlock(client, txs);
    await opts.afterBlock?.();
    return ok;
  };
  const { api } = client;

  // Wallets get funds (plain transfers, not protocol events); creators announce their streams.
  await seal([
    [
      api.tx.utility.batchAll(wallets.map((w) => api.tx.balances.transferKeepAlive(w.address, 10n ** 17n))),
      dev('Dave'),
    ],
    ...creators.map(
      ({ pair, streamId }) =>
        [buildAnnouncement(client, { streamId, metadataCid: SAMPLE_CID }), pair] as [Tx, KeyringPair],
    ),
  ]);

  const sessions = wallets.flatMap((wallet, v) =>
    creators.map((c, s) => {
      const key = createSessionKey(42);
      return { wallet, creator: c, price: prices[s]!, id: `sess-${v}-${s}`, pair: sessionKeyPair(key, 42), seq: 0 };
    }),
  );
  // One funding per wallet per block (each wallet signs one extrinsic per block).
  for (let s = 0; s < creators.length; s++) {
    const ok = await seal(
      sessions
        .filter((x) => x.creator === creators[s])
        .map((x) => [
          buildFunding(client, {
            sessionId: x.id,
            sessionAccount: x.pair.address,
            asset: 'native',
            budget: 10n ** 15n,
          }),
          x.wallet,
        ]),
    );
    if (ok.includes(false)) throw new Error('a funding failed');
  }

  let settlements = 0;
  for (let round = 0; round < opts.rounds; round++) {
    const txs = sessions.map((x, i): [Tx, KeyringPair] => {
      const seconds = 10 + ((i * 7 + round * 3) % 23);
      x.seq += seconds;
      const amount = x.price * BigInt(seconds);
      return [
        buildSettlement(client, {
          streamId: x.creator.streamId,
          sessionId: x.id,
          seq: x.seq,
          creator: x.creator.pair.address,
          asset: 'native',
          amount,
        }),
        x.pair,
      ];
    });
    if (round === 0) {
      // Noise: a plain transfer to a creator is not earnings.
      txs.push([api.tx.balances.transferKeepAlive(creators[0]!.pair.address, 4242n * 10n ** 9n), dev('Eve')]);
    }
    const ok = await seal(txs);
    if (ok.includes(false)) throw new Error('a settlement failed');
    settlements += sessions.length;
  }

  // An over-budget settlement fails on chain (batchAll reverts): no transfer, no settlement.
  const greedy = sessions[0]!;
  const failed = await seal([
    [
      buildSettlement(client, {
        streamId: greedy.creator.streamId,
        sessionId: greedy.id,
        seq: greedy.seq + 1,
        creator: greedy.creator.pair.address,
        asset: 'native',
        amount: 10n ** 16n,
      }),
      greedy.pair,
    ],
  ]);
  if (failed[0] !== false) throw new Error('the over-budget settlement should have failed');

  const finals = await Promise.all(
    sessions.map(
      async (x): Promise<[Tx, KeyringPair]> => [
        await buildFinalSettlement(client, {
          streamId: x.creator.streamId,
          sessionId: x.id,
          seq: x.seq + 5,
          creator: x.creator.pair.address,
          asset: 'native',
          amount: x.price * 5n,
          sessionAccount: x.pair.address,
          wallet: x.wallet.address,
        }),
        x.pair,
      ],
    ),
  );
  if ((await seal(finals)).includes(false)) throw new Error('a final settlement failed');
  settlements += sessions.length;

  return { creators, sessionAccounts: new Set(sessions.map((x) => x.pair.address)), settlements };
}

/** Per-block native transfers from session accounts to creators, read straight from the chain's events. */
export async function transfersToCreators(
  client: ChainClient,
  scenario: Scenario,
  toBlock: number,
): Promise<Array<{ block: number; creator: string; amount: bigint; time: number }>> {
  const { api } = client;
  const creators = new Set(scenario.creators.map((c) => c.pair.address));
  const out: Array<{ block: number; creator: string; amount: bigint; time: number }> = [];
  const keyring = new Keyring({ ss58Format: 42 });
  for (let n = 1; n <= toBlock; n++) {
    const at = await api.at(await api.rpc.chain.getBlockHash(n));
    const [records, now] = await Promise.all([at.query.system.events(), at.query.timestamp.now()]);
    for (const { event } of records as unknown as EventRecord[]) {
      if (event.section !== 'balances' || event.method !== 'Transfer') continue;
      const from = keyring.encodeAddress(event.data[0]!.toU8a(), 42);
      const to = keyring.encodeAddress(event.data[1]!.toU8a(), 42);
      if (scenario.sessionAccounts.has(from) && creators.has(to)) {
        out.push({ block: n, creator: to, amount: BigInt(event.data[2]!.toString()), time: Number(now.toString()) });
      }
    }
  }
  return out;
}
