// Replay payments as their own kind: `ps1:replay:<streamId>:<sessionId>:<seq>` beside live `ps1:pay:…`, written by
// the settlement builders for replay sessions, decoded (and watched) as settlements of kind `replay` on the dev chain.
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  buildFinalSettlement,
  buildFunding,
  buildSettlement,
  type ChainClient,
  connect,
  createSessionKey,
  type DevChain,
  decodeBlock,
  formatRemark,
  PAYMENT_REMARK,
  parseRemark,
  type SettlementEvent,
  SettlementWatcher,
  sessionKeyPair,
  sessionKindOf,
  startDevChain,
  TxSubmitter,
  type WatchedBlock,
} from '../src/index.ts';

const id = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
const seq = fc.nat({ max: Number.MAX_SAFE_INTEGER });

describe('replay remark', () => {
  test('parse(format(r)) is r, and a replay remark is never read as a live one (nor the reverse)', () => {
    fc.assert(
      fc.property(id, id, seq, (streamId, sessionId, n) => {
        const replay = { kind: 'replay', streamId, sessionId, seq: n } as const;
        const text = formatRemark(replay);
        expect(text).toBe(`ps1:replay:${streamId}:${sessionId}:${n}`);
        expect(text.length).toBeLessThanOrEqual(512);
        expect(parseRemark(text)).toEqual(replay);
        expect(parseRemark(formatRemark({ ...replay, kind: 'pay' }))).toEqual({ ...replay, kind: 'pay' });
      }),
    );
    expect(PAYMENT_REMARK).toEqual({ live: 'pay', replay: 'replay' });
    expect([sessionKindOf('pay'), sessionKindOf('replay')]).toEqual(['live', 'replay']);
  });

  test('anything but two ids and a canonical seq is refused, and so is anything over 512 characters', () => {
    for (const bad of [
      'ps1:replay:s1:x1',
      'ps1:replay:s1:x1:',
      'ps1:replay::x1:1',
      'ps1:replay:s1:x1:01',
      'ps1:replay:s1:x1:-1',
      'ps1:replay:s1:x1:1:extra',
      'ps1:replay:s 1:x1:1',
      `ps1:replay:s1:${'x'.repeat(65)}:1`,
      'ps1:replay:s1:x1:9007199254740992',
      'ps1:REPLAY:s1:x1:1',
      'ps2:replay:s1:x1:1',
      `ps1:replay:s1:x1:1${' '.repeat(512)}`,
    ]) {
      expect(parseRemark(bad), bad).toBeUndefined();
    }
    expect(() => formatRemark({ kind: 'replay', streamId: 's:1', sessionId: 'x1', seq: 1 })).toThrow();
    expect(() => formatRemark({ kind: 'replay', streamId: 's1', sessionId: 'x1', seq: -1 })).toThrow();
  });
});

describe('replay payments on the dev chain', { timeout: 180_000 }, () => {
  let dev: DevChain;
  let client: ChainClient;
  let submitter: TxSubmitter;
  const kr = new Keyring({ type: 'sr25519', ss58Format: 42 });
  const alice = kr.addFromUri('//Alice');
  const bob = kr.addFromUri('//Bob');

  beforeAll(async () => {
    await cryptoWaitReady();
    dev = await startDevChain();
    client = await connect(dev.wsUrl);
    submitter = new TxSubmitter(client.api);
  });
  afterAll(async () => {
    await client?.close();
    await dev?.close();
  });

  /** A session account funded by Alice, `sessionId` its id. */
  async function fundedSession(sessionId: string) {
    const key = createSessionKey(42);
    const fund = await submitter.submit(
      buildFunding(client, { sessionId, sessionAccount: key.address, asset: 'native', budget: 5n * 10n ** 12n }),
      alice,
    );
    expect(fund.ok).toBe(true);
    return { key, pair: sessionKeyPair(key, 42) };
  }

  test('a replay session’s settlements and final settlement decode as replay, a live one’s as live, watched alike', async () => {
    const deliveries: WatchedBlock[] = [];
    const watcher = await SettlementWatcher.start(client, { ss58: 42, onBlock: (d) => void deliveries.push(d) });
    try {
      const replay = await fundedSession('sess-replay');
      const live = await fundedSession('sess-live');
      const common = { streamId: 'stream-r', creator: bob.address, asset: 'native' as const };

      const replayPay = await submitter.submit(
        buildSettlement(client, { ...common, kind: 'replay', sessionId: 'sess-replay', seq: 7, amount: 31_337n }),
        replay.pair,
      );
      const livePay = await submitter.submit(
        buildSettlement(client, { ...common, sessionId: 'sess-live', seq: 8, amount: 27_182n }),
        live.pair,
      );
      if (!replayPay.ok || !livePay.ok) throw new Error('a settlement failed');
      const settlement = (e: { type: string }): e is SettlementEvent => e.type === 'settlement';
      expect((await decodeBlock(client.api, replayPay.blockHash, 42)).filter(settlement)).toEqual([
        expect.objectContaining({ sessionKind: 'replay', sessionId: 'sess-replay', seq: 7, amount: 31_337n }),
      ]);
      expect((await decodeBlock(client.api, livePay.blockHash, 42)).filter(settlement)).toEqual([
        expect.objectContaining({ sessionKind: 'live', sessionId: 'sess-live', seq: 8, amount: 27_182n }),
      ]);

      const fin = await submitter.submit(
        await buildFinalSettlement(client, {
          ...common,
          kind: 'replay',
          sessionId: 'sess-replay',
          seq: 9,
          amount: 1_000n,
          sessionAccount: replay.key.address,
          wallet: alice.address,
        }),
        replay.pair,
      );
      if (!fin.ok) throw new Error('the final settlement failed');
      const finalEvents = await decodeBlock(client.api, fin.blockHash, 42);
      expect(finalEvents.map((e) => e.type)).toEqual(['settlement', 'refund']);
      expect(finalEvents[0]).toMatchObject({ sessionKind: 'replay', sessionId: 'sess-replay', seq: 9, amount: 1_000n });

      // The watcher delivers the same settlements, each with its kind, pending and then final.
      const watched = (status: 'pending' | 'final') =>
        deliveries
          .flatMap((d) => (d.status === status ? d.block.events.filter(settlement) : []))
          .map((e) => [e.sessionKind, e.sessionId, e.amount]);
      const expected = [
        ['replay', 'sess-replay', 31_337n],
        ['live', 'sess-live', 27_182n],
        ['replay', 'sess-replay', 1_000n],
      ];
      await expect.poll(() => watched('final'), { timeout: 60_000, interval: 200 }).toEqual(expected);
      expect(watched('pending')).toEqual(expected);
    } finally {
      await watcher.close();
    }
  });
});
