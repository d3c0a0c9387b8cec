import {
  buildFunding,
  type ChainClient,
  connect,
  createSessionKey,
  type DevChain,
  startDevChain,
  TxSubmitter,
} from '@persecond/contracts-client';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady, encodeAddress } from '@polkadot/util-crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerModule } from '../src/ledger/ledgerModule.ts';
import { type LedgerBackend, ledgerModuleOn, pgliteBackend, postgresBackend, until } from './support/ledgerBackends.ts';

function chainSuite(name: string, makeBackend: () => Promise<LedgerBackend>): void {
  describe(`ledger module on the dev chain (${name})`, () => {
    let dev: DevChain;
    let chain: ChainClient;
    let submitter: TxSubmitter;
    const backends: LedgerBackend[] = [];
    const modules: LedgerModule[] = [];
    const kr = new Keyring({ type: 'sr25519', ss58Format: 42 });
    const moduleOn = async (watchSettlements: boolean) => {
      const backend = await makeBackend();
      backends.push(backend);
      const mod = await ledgerModuleOn(chain, backend.config, { watchSettlements });
      modules.push(mod);
      return mod;
    };

    beforeAll(async () => {
      await cryptoWaitReady();
      dev = await startDevChain({ createAsset: false });
      chain = await connect(dev.wsUrl);
      submitter = new TxSubmitter(chain.api);
    });

    afterAll(async () => {
      for (const mod of modules) await mod.close?.();
      for (const backend of backends) await backend.dispose();
      await chain?.close();
      await dev?.close();
    });

    // Generous: chain blocks take seconds each on a busy 2-core machine.
    it('records fundings from the watched chain, and reads a named block on demand once', {
      timeout: 180_000,
    }, async () => {
      const watching = await moduleOn(true);
      const idle = await moduleOn(false);
      const alice = kr.addFromUri('//Alice');
      const key = createSessionKey(42);
      const sessionId = `sess-chain-fund-${Date.now()}`;
      const funded = await submitter.submit(
        buildFunding(chain, { sessionId, sessionAccount: key.address, asset: 'native', budget: 3n * 10n ** 12n }),
        alice,
      );
      if (!funded.ok) throw new Error(`funding failed: ${JSON.stringify(funded.error)}`);
      const expected = {
        sessionId,
        wallet: encodeAddress(alice.address, 42),
        sessionAccount: encodeAddress(key.address, 42),
        asset: 'native',
        amount: 3n * 10n ** 12n,
        blockHash: funded.blockHash,
        status: 'final',
      };

      // The watcher records it (chopsticks finalizes every block it builds).
      const seen = await until(async () => {
        const rows = await watching.fundingOf(sessionId);
        return rows[0]?.status === 'final' ? rows : undefined;
      }, 'the watcher to record the funding as final');
      expect(seen).toEqual([expect.objectContaining(expected)]);

      // A node that did not watch that block reads it when admission names it, and only then.
      expect(await idle.fundingOf(sessionId)).toEqual([]);
      const read = await idle.fundingOf(sessionId, { blockHash: funded.blockHash });
      expect(read).toEqual([expect.objectContaining(expected)]);
      expect(read[0]?.id).toBe(seen[0]?.id);
      expect(await idle.fundingOf(sessionId)).toEqual(read);
      expect(await idle.fundingOf(sessionId, { blockHash: funded.blockHash })).toEqual(read);

      // A funding of the same session id recorded before (here another wallet's) does not hide the one a join names.
      const later = await submitter.submit(
        buildFunding(chain, {
          sessionId,
          sessionAccount: createSessionKey(42).address,
          asset: 'native',
          budget: 10n ** 12n,
        }),
        kr.addFromUri('//Bob'),
      );
      if (!later.ok) throw new Error(`funding failed: ${JSON.stringify(later.error)}`);
      expect(await idle.fundingOf(sessionId)).toEqual(read);
      const both = await idle.fundingOf(sessionId, { blockHash: later.blockHash });
      expect(both.map((f) => f.blockHash)).toEqual([funded.blockHash, later.blockHash]);

      // Names that are not fundings of that session in a block of this chain give nothing.
      expect(await idle.fundingOf('sess-nobody', { blockHash: funded.blockHash })).toEqual([]);
      expect(await idle.fundingOf('sess-nobody', { blockHash: `0x${'ab'.repeat(32)}` })).toEqual([]);
      expect(await idle.fundingOf('sess-nobody', { blockHash: 'not-a-hash' })).toEqual([]);
      const genesis = chain.facts.genesisHash;
      expect(await idle.fundingOf('sess-nobody', { blockHash: genesis })).toEqual([]);
    });
  });
}

chainSuite('PGlite', async () => pgliteBackend());

describe.skipIf(!process.env.DATABASE_URL)('PostgreSQL', () => {
  chainSuite('PostgreSQL', () => postgresBackend(process.env.DATABASE_URL ?? ''));
});
