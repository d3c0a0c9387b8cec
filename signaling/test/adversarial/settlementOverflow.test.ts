// Issue 19, item 2: one attacker must not stop settlement crediting for everyone. The attacker creates its own asset
// with a u128 supply, opens a session priced in it and pays its own creator account huge `ps1:pay` transfers (the
// creator sends the asset back between payments) until the session's settled sum cannot be stored. Those credits
// are quarantined; the watcher carries on, before and after a restart, and an honest viewer's later settlement is
// credited exactly as the chain shows it.
import {
  buildFunding,
  buildSettlement,
  type ChainClient,
  connect,
  createSessionKey,
  type DevChain,
  fetchDecodedBlock,
  formatRemark,
  type SessionKey,
  type SettlementEvent,
  sessionIdOf,
  sessionKeyPair,
  startDevChain,
  TxSubmitter,
} from '@persecond/contracts-client';
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerModule } from '../../src/ledger/ledgerModule.ts';
import {
  capturedLog,
  type LedgerBackend,
  ledgerModuleOn,
  pgliteBackend,
  postgresBackend,
  until,
} from '../support/ledgerBackends.ts';

const ATTACK_ASSET = 4242;
/** Half of u128: the attacker's supply; three such payments no longer sum within u128, six not within numeric(39,0). */
const HALF_U128 = 1n << 127n;
const PRICE = 1_000_000n;

function attackSuite(name: string, makeBackend: () => Promise<LedgerBackend>): void {
  describe(`a settlement that overflows the ledger (${name})`, () => {
    let dev: DevChain;
    let chain: ChainClient;
    let submitter: TxSubmitter;
    let backend: LedgerBackend;
    const { log, lines: logs } = capturedLog<{ msg: string; event?: { id: string } }>();
    const registry = new Registry();
    const kr = new Keyring({ type: 'sr25519', ss58Format: 42 });
    const tag = Date.now().toString(36);
    /** A session of its own key on `streamId`, its id the key's as every client's is. */
    const sessionOn = (streamId: string): { streamId: string; sessionId: string; key: SessionKey } => {
      const key = createSessionKey(42);
      return { streamId, sessionId: sessionIdOf(key.address), key };
    };
    const attack = sessionOn(`stream-attack-${tag}`);
    const honest = sessionOn(`stream-honest-${tag}`);
    const submit = async (tx: Parameters<TxSubmitter['submit']>[0], signer: KeyringPair) => {
      const result = await submitter.submit(tx, signer);
      if (!result.ok) throw new Error(`transaction failed: ${JSON.stringify(result.error)}`);
      return result;
    };
    /** The ps1:pay settlements the chain shows in a block. */
    const settlementsIn = async (blockHash: string) =>
      (await fetchDecodedBlock(chain.api, blockHash, 42)).events.filter(
        (e): e is SettlementEvent => e.type === 'settlement',
      );

    beforeAll(async () => {
      await cryptoWaitReady();
      backend = await makeBackend();
      dev = await startDevChain({ createAsset: false });
      chain = await connect(dev.wsUrl);
      submitter = new TxSubmitter(chain.api);
    });

    afterAll(async () => {
      await chain?.close();
      await dev?.close();
      await backend?.dispose();
    });

    it('quarantines the attacker’s credits and keeps crediting the honest viewer, across a restart', {
      timeout: 240_000,
    }, async () => {
      const eve = kr.addFromUri('//Eve');
      const ferdie = kr.addFromUri('//Ferdie');
      const alice = kr.addFromUri('//Alice');
      const bob = kr.addFromUri('//Bob');
      let mod: LedgerModule = await ledgerModuleOn(chain, backend.config, { log, registry });
      const { ledger } = mod;

      // The attacker's own asset, half of u128 minted, all in the attacker's session account (less the minimum balance).
      const { api } = chain;
      await submit(
        api.tx.utility.batchAll([
          api.tx.assets.create(ATTACK_ASSET, eve.address, 1n),
          api.tx.assets.mint(ATTACK_ASSET, eve.address, HALF_U128),
        ]),
        eve,
      );
      const held = HALF_U128 - 1n;
      const attackFunding = await submit(
        buildFunding(chain, {
          sessionId: attack.sessionId,
          sessionAccount: attack.key.address,
          asset: ATTACK_ASSET,
          budget: held,
          feeTopUp: 10n ** 13n,
        }),
        eve,
      );
      await submit(
        buildFunding(chain, {
          sessionId: honest.sessionId,
          sessionAccount: honest.key.address,
          asset: 'native',
          budget: 10n ** 14n,
        }),
        alice,
      );
      for (const [who, wallet, creator, asset, pricePerSecond] of [
        [attack, eve, ferdie, ATTACK_ASSET, 1n],
        [honest, alice, bob, 'native', PRICE],
      ] as const) {
        await ledger.openSession({
          sessionId: who.sessionId,
          streamId: who.streamId,
          wallet: wallet.address,
          sessionAccount: who.key.address,
          creator: creator.address,
          asset,
          pricePerSecond,
          budget: asset === 'native' ? 10n ** 14n : held,
        });
      }
      await ledger.recordTicks([{ sessionId: honest.sessionId, seq: 20, watchedSeconds: 20, owed: 20n * PRICE }]);
      // The other half of item 2: a price near u128 / 30 that would make the meter's round overflow is refused.
      const pricey = sessionOn(attack.streamId);
      await expect(
        ledger.openSession({
          sessionId: pricey.sessionId,
          streamId: attack.streamId,
          wallet: eve.address,
          sessionAccount: pricey.key.address,
          creator: ferdie.address,
          asset: ATTACK_ASSET,
          pricePerSecond: HALF_U128 / 15n,
          budget: held,
        }),
      ).rejects.toMatchObject({ code: 'AMOUNT_OUT_OF_RANGE' });
      expect(await mod.fundingOf(attack.sessionId, { blockHash: attackFunding.blockHash })).toEqual([
        expect.objectContaining({ asset: 'native', amount: 10n ** 13n, status: 'final' }),
        expect.objectContaining({ asset: ATTACK_ASSET, amount: held, status: 'final' }),
      ]);

      // Six half-u128 payments to the attacker's creator account, which hands each back before the next through an
      // approval (batches instead of a block per transfer on a busy machine). Their sum, 6 × 2^127 ≈ 1.02 × 10^39,
      // overflows numeric(39,0): before quarantine, the third stopped the watcher on its block for good.
      const huge = held - 1n;
      const pay = (seq: number) => [
        api.tx.assets.transferKeepAlive(ATTACK_ASSET, ferdie.address, huge),
        api.tx.system.remarkWithEvent(
          formatRemark({ kind: 'pay', streamId: attack.streamId, sessionId: attack.sessionId, seq }),
        ),
      ];
      const handBack = api.tx.assets.transferApproved(ATTACK_ASSET, ferdie.address, attack.key.address, huge);
      const attackPays: string[] = [];
      for (const calls of [
        [...pay(1), handBack, ...pay(2), handBack, ...pay(3)],
        [handBack, ...pay(4), handBack, ...pay(5)],
        [handBack, ...pay(6)],
      ]) {
        const handBacks = BigInt(calls.filter((c) => c === handBack).length);
        await submit(api.tx.assets.approveTransfer(ATTACK_ASSET, attack.key.address, handBacks * huge), ferdie);
        attackPays.push((await submit(api.tx.utility.batchAll(calls), sessionKeyPair(attack.key, 42))).blockHash);
      }
      const honestPay = await submit(
        buildSettlement(chain, {
          streamId: honest.streamId,
          sessionId: honest.sessionId,
          seq: 10,
          creator: bob.address,
          asset: 'native',
          amount: 10n * PRICE,
        }),
        sessionKeyPair(honest.key, 42),
      );

      // The honest settlement, in a block after the attack, is credited final.
      await until(
        async () => ((await ledger.session(honest.sessionId))?.settledFinal === 10n * PRICE ? true : undefined),
        'the honest settlement to be credited',
      );
      const chainAttack = (await Promise.all(attackPays.map(settlementsIn))).flat();
      expect(chainAttack.map((e) => e.amount)).toEqual(Array(6).fill(huge));
      const credited = chainAttack.slice(0, 2);
      const overflowing = chainAttack.slice(2);
      // Two payments fit a session's u128 total; the other four cannot be stored: set aside, with their data.
      expect(await ledger.session(attack.sessionId)).toMatchObject({
        settledPending: 0n,
        settledFinal: credited.reduce((sum, e) => sum + e.amount, 0n),
      });
      const quarantined = await until(async () => {
        const q = await ledger.quarantined(attack.sessionId);
        return q.length === 4 && q.every((e) => e.status === 'final') ? q : undefined;
      }, 'the overflowing credits to be quarantined at finality');
      expect(new Set(quarantined.map((q) => q.id))).toEqual(new Set(overflowing.map((e) => e.id)));
      expect(quarantined[0]).toMatchObject({
        kind: 'settlement',
        payload: { amount: huge.toString(), payer: attack.key.address, creator: ferdie.address },
        error: expect.stringContaining('past u128'),
      });
      const logged = logs.filter((l) => l.msg.startsWith('chain event quarantined')).map((l) => l.event?.id);
      expect(new Set(logged)).toEqual(new Set(overflowing.map((e) => e.id)));
      const metric = await registry.getSingleMetric('signaling_ledger_quarantined_events_total')?.get();
      expect(metric?.values).toEqual([expect.objectContaining({ labels: { kind: 'settlement' }, value: 8 })]);

      // The ledger equals the chain's transfer events for the honest viewer.
      const honestOnChain = await settlementsIn(honestPay.blockHash);
      const honestSum = honestOnChain
        .filter((e) => e.sessionId === honest.sessionId && e.payer === honest.key.address)
        .reduce((sum, e) => sum + e.amount, 0n);
      expect(await ledger.session(honest.sessionId)).toMatchObject({ settledPending: 0n, settledFinal: honestSum });
      expect(await ledger.debtOf(alice.address)).toMatchObject({ debt: 10n * PRICE });

      // A restarted node resumes after the attack blocks and keeps crediting.
      expect((await ledger.watcherCursor())?.number).toBeGreaterThanOrEqual(
        (await chain.api.rpc.chain.getHeader(honestPay.blockHash)).number.toNumber(),
      );
      await mod.close?.();
      mod = await ledgerModuleOn(chain, backend.config, { log, registry: new Registry() });
      const again = await submit(
        buildSettlement(chain, {
          streamId: honest.streamId,
          sessionId: honest.sessionId,
          seq: 20,
          creator: bob.address,
          asset: 'native',
          amount: 10n * PRICE,
        }),
        sessionKeyPair(honest.key, 42),
      );
      expect((await settlementsIn(again.blockHash)).map((e) => e.amount)).toEqual([10n * PRICE]);
      await until(
        async () => ((await mod.ledger.session(honest.sessionId))?.settledFinal === 20n * PRICE ? true : undefined),
        'the settlement after the restart to be credited',
      );
      expect(await mod.ledger.debtOf(alice.address)).toMatchObject({ debt: 0n });
      expect(await mod.ledger.quarantined()).toHaveLength(4);
      await mod.close?.();
    });
  });
}

attackSuite('PGlite', async () => pgliteBackend());

describe.skipIf(!process.env.DATABASE_URL)('PostgreSQL', () => {
  attackSuite('PostgreSQL', () => postgresBackend(process.env.DATABASE_URL ?? ''));
});
