// The replays' rows and the ledger's session kinds on an embedded PGlite with the committed migrations: a replay's
// terms written at each go-live (its price only when chosen), listed until deleted, deletion kept; segment numbers
// kept once per session; replay sessions apart from live ones in a stream's totals.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ledger } from '../../src/ledger/Ledger.ts';
import { ReplayStore, type ReplayTerms } from '../../src/replays/ReplayStore.ts';
import { account, closeLedgerOn, type OpenLedger, opening, openLedgerOn, tickOf } from '../support/ledgerBackends.ts';

describe('replay rows and session kinds', () => {
  let open: OpenLedger;
  let ledger: Ledger;
  let store: ReplayStore;
  const creator = account();
  const terms = (streamId: string, price: bigint): ReplayTerms => ({
    streamId,
    creator,
    title: `Title ${streamId}`,
    asset: 'native',
    pricePerSecond: price,
    livePricePerSecond: 5n,
    terms: { settleEverySeconds: 30, payAhead: false },
  });

  beforeAll(async () => {
    open = await openLedgerOn(async () => ({
      name: 'memory',
      config: { dataDir: 'memory://' },
      dispose: async () => {},
    }));
    ledger = open.ledger;
    store = new ReplayStore(ledger);
  });

  afterAll(async () => {
    await closeLedgerOn(open ?? {});
  });

  it('keeps the first terms of a stream, and a new replay price only when one is chosen', async () => {
    await store.save(terms('stream-replay-a', 5n), false);
    await store.save(terms('stream-replay-a', 9n), false);
    expect(await store.get('stream-replay-a')).toMatchObject({ pricePerSecond: 5n, livePricePerSecond: 5n });
    await store.save(terms('stream-replay-a', 12n), true);
    expect(await store.get('stream-replay-a')).toMatchObject({
      streamId: 'stream-replay-a',
      title: 'Title stream-replay-a',
      asset: 'native',
      pricePerSecond: 12n,
      terms: { settleEverySeconds: 30, payAhead: false },
      deletedAt: null,
    });
    expect(await store.get('stream-replay-none')).toBeUndefined();
  });

  it('lists replays not deleted, all or one creator’s, and keeps the first deletion', async () => {
    await store.save({ ...terms('stream-replay-b', 5n), creator: account() }, false);
    expect((await store.list()).map((r) => r.streamId).sort()).toEqual(['stream-replay-a', 'stream-replay-b']);
    expect((await store.list(creator)).map((r) => r.streamId)).toEqual(['stream-replay-a']);
    expect(await store.markDeleted('stream-replay-a', new Date('2026-01-01T00:00:00Z'))).toBe(true);
    expect(await store.markDeleted('stream-replay-a', new Date('2027-01-01T00:00:00Z'))).toBe(true);
    expect((await store.get('stream-replay-a'))?.deletedAt?.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(await store.list(creator)).toEqual([]);
    expect(await store.markDeleted('stream-replay-none')).toBe(false);
    // Going live again does not bring a deleted replay back.
    await store.save(terms('stream-replay-a', 20n), true);
    expect((await store.get('stream-replay-a'))?.deletedAt).not.toBeNull();
  });

  it('keeps segment numbers once per session, in chunks', async () => {
    const many = Array.from({ length: 2_500 }, (_, seq) => ({ sessionId: 'sess-watched-1', seq }));
    await store.keepWatched(many);
    await store.keepWatched([
      { sessionId: 'sess-watched-1', seq: 3 },
      { sessionId: 'sess-watched-2', seq: 3 },
    ]);
    expect((await store.watchedOf('sess-watched-1')).length).toBe(2_500);
    expect(await store.watchedOf('sess-watched-2')).toEqual([3]);
    expect(await store.watchedOf('sess-watched-none')).toEqual([]);
  });

  it('opens replay sessions apart from live ones: own totals, and a session id never changes kind', async () => {
    const streamId = 'stream-replay-kinds';
    const live = opening({ streamId, pricePerSecond: 5n });
    const replay = opening({ streamId, pricePerSecond: 12n, kind: 'replay' });
    expect((await ledger.openSession(live)).session.kind).toBe('live');
    expect((await ledger.openSession(replay)).session.kind).toBe('replay');
    await ledger.recordTicks([tickOf(live, 1), tickOf(live, 2), tickOf(replay, 1)]);
    expect((await ledger.streamTotals(streamId)).owed).toBe(10n);
    expect((await ledger.streamTotals(streamId, 'replay')).owed).toBe(12n);
    expect(await ledger.streamEndTotals(streamId)).toMatchObject({ owed: 10n, sessions: 1, wallets: 1 });
    await expect(ledger.openSession({ ...replay, kind: 'live' })).rejects.toMatchObject({ code: 'SESSION_MISMATCH' });
    expect((await ledger.openSession(replay)).resumed).toBe(true);
  });
});
