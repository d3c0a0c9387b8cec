// The admission's chain reads on the real dev chain: the fee reserve is modelled once per call shape and reused with
// the current fee multiplier (exactly the figure the chain gives now), and the prepay check tells what is missing.
import {
  type ChainClient,
  connect,
  createSessionKey,
  type DevChain,
  startDevChain,
  TxSubmitter,
} from '@persecond/contracts-client';
import type { WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignalingError } from '../src/errors.ts';
import {
  type PrepayTerms as AdmissionTerms,
  checkPrepay,
  estimateFeeReserve,
  type PrepayPolicy,
} from '../src/viewers/prepay.ts';

const PRICE = 1_000_000_000n;
const POLICY: PrepayPolicy = { minPrepaySeconds: 30, settleEverySeconds: 10 };

describe('admission chain reads', () => {
  let chain: DevChain;
  let client: ChainClient;
  let terms: AdmissionTerms;

  /** RPC requests the client sent so far (the dev chain builds no block unless asked: only ours). */
  const requests = () =>
    (client.api as unknown as { _rpcCore: { provider: WsProvider } })._rpcCore.provider.stats.total.requests;

  beforeAll(async () => {
    await cryptoWaitReady();
    chain = await startDevChain();
    client = await connect(chain.wsUrl);
    const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
    terms = {
      streamId: 'admission-test-stream',
      sessionId: 'a1b2c3d4e5f6a1b2c3d4e5f6',
      creator: keyring.addFromUri('//Alice').address,
      wallet: keyring.addFromUri('//Bob').address,
      sessionAccount: createSessionKey(42).address,
      asset: 'native',
      pricePerSecond: PRICE,
    };
  }, 120_000);

  afterAll(async () => {
    await client?.close();
    await chain?.close();
  });

  it('reuses a fee estimate for joins of the same shape, and it equals a fresh one', async () => {
    const cold = requests();
    const first = await estimateFeeReserve(client, terms, POLICY);
    const coldRequests = requests() - cold;
    // Another session of the same shape (another session account and id of the same length).
    const other = { ...terms, sessionId: 'f6e5d4c3b2a1f6e5d4c3b2a1', sessionAccount: createSessionKey(42).address };
    const warm = requests();
    const second = await estimateFeeReserve(client, other, POLICY);
    const warmRequests = requests() - warm;
    expect(first).toBeGreaterThan(0n);
    expect(second).toBe(first);
    // Cold: the fee multiplier and the runtime's fee queries; warm: the multiplier only.
    expect(coldRequests).toBeGreaterThanOrEqual(3);
    expect(warmRequests).toBe(1);
    expect(await estimateFeeReserve(client, other, { ...POLICY, feeEstimateTtlMs: 0 })).toBe(first);
    // Each block moves the fee multiplier: the reused model still gives exactly what the chain gives at the new head.
    const multiplier = async () => (await client.api.query.transactionPayment.nextFeeMultiplier()).toString();
    const before = await multiplier();
    const alice = new Keyring({ type: 'sr25519', ss58Format: 42 }).addFromUri('//Alice');
    await new TxSubmitter(client.api).submit(client.api.tx.balances.transferKeepAlive(terms.wallet, 10n ** 12n), alice);
    expect(await multiplier()).not.toBe(before);
    const reused = await estimateFeeReserve(client, other, POLICY);
    expect(reused).toBe(await estimateFeeReserve(client, other, { ...POLICY, feeEstimateTtlMs: 0 }));
    expect(reused).not.toBe(first);
    // Another shape (a longer stream id: a longer remark) is estimated on its own.
    const otherShape = requests();
    await estimateFeeReserve(client, { ...terms, streamId: `${terms.streamId}-longer-id` }, POLICY);
    expect(requests() - otherShape).toBeGreaterThanOrEqual(3);
  });

  it('refuses an unfunded session account with what it needs', async () => {
    const reserve = await estimateFeeReserve(client, terms, POLICY);
    const refusal = await checkPrepay(client, terms, POLICY).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refusal).toBeInstanceOf(SignalingError);
    expect((refusal as SignalingError).code).toBe('BALANCE_INSUFFICIENT');
    expect((refusal as SignalingError).details).toMatchObject({
      required: (30n * PRICE + reserve).toString(),
      available: '0',
    });
  });
});
