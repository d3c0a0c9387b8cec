import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildFunding,
  buildSettlement,
  type ChainClient,
  connect,
  createSessionKey,
  type DevChain,
  type SessionKey,
  sessionKeyPair,
  startDevChain,
  TxSubmitter,
} from '@persecond/contracts-client';
import { loadSfuConfig, Sfu } from '@persecond/sfu';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPinner, createSignalingServer, loadSignalingConfig, type Pinner } from '../src/index.ts';
import {
  createLedgerModule,
  type LedgerModule,
  ledgerModuleOf,
  type SettlementChange,
} from '../src/ledger/ledgerModule.ts';
import { until } from './support/ledgerBackends.ts';

const PRICE = 1_000_000n;
const STREAM = 'stream-ledger-chain';
const SESSION = 'sess-ledger-chain-1';

describe('ledger module on a signaling node and the dev chain', () => {
  let dev: DevChain;
  let chain: ChainClient;
  let sfu: Sfu;
  let pinner: Pinner;
  let submitter: TxSubmitter;
  let key: SessionKey;
  const dataDir = mkdtempSync(join(tmpdir(), 'persecond-ledger-module-'));
  const ipfsDir = mkdtempSync(join(tmpdir(), 'persecond-ipfs-'));
  const kr = new Keyring({ type: 'sr25519', ss58Format: 42 });
  const startNode = () =>
    createSignalingServer(loadSignalingConfig({ PORT: '0', LOG_LEVEL: 'silent' }), {
      sfu,
      pinner,
      chain,
      modules: [createLedgerModule({ config: { dataDir } })],
    });
  const settle = (seq: number, amount: bigint, signer = sessionKeyPair(key, 42)) =>
    submitter.submit(
      buildSettlement(chain, {
        streamId: STREAM,
        sessionId: SESSION,
        seq,
        creator: kr.addFromUri('//Bob').address,
        asset: 'native',
        amount,
      }),
      signer,
    );

  beforeAll(async () => {
    await cryptoWaitReady();
    dev = await startDevChain({ createAsset: false });
    chain = await connect(dev.wsUrl);
    submitter = new TxSubmitter(chain.api);
    sfu = await Sfu.create(loadSfuConfig({ SFU_NUM_WORKERS: '1', LOG_LEVEL: 'silent' }));
    pinner = await createPinner({ backend: 'helia', dir: ipfsDir });
    key = createSessionKey(42);
    const funded = await submitter.submit(
      buildFunding(chain, { sessionId: SESSION, sessionAccount: key.address, asset: 'native', budget: 10n ** 13n }),
      kr.addFromUri('//Alice'),
    );
    expect(funded.ok).toBe(true);
  });

  afterAll(async () => {
    await sfu?.close();
    await pinner?.close();
    await chain?.close();
    await dev?.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(ipfsDir, { recursive: true, force: true });
  });

  it('credits the session account’s settlements pending then final, ignores others, and resumes after a restart', async () => {
    let server = await startNode();
    let mod: LedgerModule = ledgerModuleOf(server.modules);
    const changes: SettlementChange[] = [];
    mod.onSettlement((c) => changes.push(c));
    await mod.ledger.openSession({
      sessionId: SESSION,
      streamId: STREAM,
      wallet: kr.addFromUri('//Alice').address,
      sessionAccount: key.address,
      creator: kr.addFromUri('//Bob').address,
      asset: 'native',
      pricePerSecond: PRICE,
      budget: 10n ** 13n,
    });
    await mod.ledger.recordTicks(
      Array.from({ length: 10 }, (_, i) => ({
        sessionId: SESSION,
        seq: i + 1,
        watchedSeconds: i + 1,
        owed: BigInt(i + 1) * PRICE,
      })),
    );
    await mod.ledger.recordVoucher({ sessionId: SESSION, seq: 10, owed: 10n * PRICE });

    expect((await settle(5, 5n * PRICE)).ok).toBe(true);
    // Alice pays Bob with the same remark: not the session account, so it must not count.
    expect((await settle(6, PRICE, kr.addFromUri('//Alice'))).ok).toBe(true);
    await until(
      async () => ((await mod.ledger.session(SESSION))?.settledFinal === 5n * PRICE ? true : undefined),
      'the settlement to be final in the ledger',
    );
    expect(changes).toEqual([
      { sessionId: SESSION, outcome: 'credited' },
      { sessionId: SESSION, outcome: 'finalized' },
    ]);
    expect(await mod.ledger.session(SESSION)).toMatchObject({ settledPending: 0n, settledFinal: 5n * PRICE });

    // The node goes down; a settlement lands meanwhile; the restarted node backfills it from its cursor.
    await server.close();
    await server.close();
    const paid = await settle(10, 5n * PRICE);
    expect(paid.ok).toBe(true);
    server = await startNode();
    mod = ledgerModuleOf(server.modules);
    const session = await until(async () => {
      const s = await mod.ledger.session(SESSION);
      return s?.settledFinal === 10n * PRICE ? s : undefined;
    }, 'the settlement made while down to be credited');
    expect(session).toMatchObject({ watchedSeconds: 10, owed: 10n * PRICE, acknowledged: 10n * PRICE });
    expect(await mod.ledger.debtOf(kr.addFromUri('//Alice').address)).toMatchObject({ debt: 0n });
    expect(await mod.ledger.watcherCursor()).toMatchObject({ genesisHash: chain.facts.genesisHash });
    await server.close();
    await expect(mod.ledger.session(SESSION)).rejects.toMatchObject({ code: 'LEDGER_CLOSED' });
  });
});
