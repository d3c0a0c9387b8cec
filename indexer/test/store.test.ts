import { DEV_ACCOUNTS } from '@persecond/contracts-client';
import { asc, sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Database, openDatabase, queryRows } from '../src/db/database.ts';
import { Store } from '../src/db/Store.ts';
import { blocks, settlements, tips } from '../src/db/schema.ts';
import { chainOf, hashOf } from './support/blocks.ts';

const { Alice: creator, Bob: viewer, Charlie: session } = DEV_ACCOUNTS;
const t0 = new Date('2026-03-01T10:00:00Z');
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);
const pay = (seq: number, amount: bigint, extrinsicIndex = 1) => ({
  type: 'settlement' as const,
  sessionKind: 'live' as const,
  extrinsicIndex,
  eventIndex: 3,
  streamId: 'stream-1',
  sessionId: 'session-1',
  seq,
  payer: session,
  creator,
  asset: 'native' as const,
  amount,
});
const tip = (n: number, amount: bigint) => ({
  type: 'tip' as const,
  extrinsicIndex: 10 + n,
  eventIndex: 4,
  streamId: 'stream-1',
  messageId: `msg-${n}`,
  from: viewer,
  creator,
  asset: 'native' as const,
  amount,
});

describe('Store (batch writer) on PGlite', () => {
  let database: Database;
  let store: Store;

  beforeAll(async () => {
    database = await openDatabase({ dataDir: 'memory://' });
    store = new Store(database.db);
  });
  afterAll(() => database?.close());
  beforeEach(async () => {
    await queryRows(database.db, sql`truncate blocks, streams, sessions, settlements, tips, cursor`);
  });

  const allSettlements = () => database.db.select().from(settlements).orderBy(asc(settlements.blockNumber));
  const allTips = () => database.db.select().from(tips).orderBy(asc(tips.blockNumber));

  it('writes blocks, events and the cursor together; replaying a batch changes nothing', async () => {
    const batch = chainOf(1, hashOf('genesis'), [
      {
        time: at(0),
        events: [
          {
            type: 'funding',
            extrinsicIndex: 1,
            eventIndex: 2,
            sessionId: 'session-1',
            wallet: viewer,
            sessionAccount: session,
            asset: 'native',
            amount: 10n ** 15n,
          },
        ],
      },
      { time: at(6), events: [pay(1, 123_456_789_012_345_678_901n)] },
      { time: at(12), events: [pay(2, 1n), pay(3, 2n, 2), tip(1, 77n)] },
    ]);
    expect(await store.writeBatch(batch, 0)).toEqual({ announcement: 0, funding: 1, refund: 0, settlement: 3, tip: 1 });
    await store.writeBatch(batch, 0);
    expect(await store.cursor()).toEqual({
      head: { number: 3, hash: batch[2]!.hash },
      finalized: { number: 0, hash: '' },
    });
    const rows = await allSettlements();
    expect(rows.map((r) => [r.blockNumber, r.seq, r.amount, r.status])).toEqual([
      [2, 1, 123_456_789_012_345_678_901n, 'pending'],
      [3, 2, 1n, 'pending'],
      [3, 3, 2n, 'pending'],
    ]);
    expect(rows[0]?.id).toBe(`${batch[1]!.hash}:1:3`);
    expect(rows[0]?.blockTime).toEqual(at(6));
    expect((await allTips()).map((r) => [r.id, r.messageId, r.tipper, r.creator, r.amount, r.status])).toEqual([
      [`${batch[2]!.hash}:11:4`, 'msg-1', viewer, creator, 77n, 'pending'],
    ]);
  });

  it('finalizes up to a height, capped at the head, and never un-finalizes', async () => {
    const batch = chainOf(1, hashOf('genesis'), [
      { time: at(0) },
      { time: at(6), events: [pay(1, 5n), tip(1, 6n)] },
      { time: at(12), events: [tip(2, 7n)] },
    ]);
    await store.writeBatch(batch, 2);
    expect((await store.cursor())?.finalized).toEqual({ number: 2, hash: batch[1]!.hash });
    expect((await allSettlements())[0]?.status).toBe('final');
    expect((await allTips()).map((r) => [r.amount, r.status])).toEqual([
      [6n, 'final'],
      [7n, 'pending'],
    ]);
    await store.finalize(1);
    expect((await store.cursor())?.finalized.number).toBe(2);
    await store.finalize(99);
    expect((await store.cursor())?.finalized).toEqual({ number: 3, hash: batch[2]!.hash });
    expect((await allTips()).map((r) => r.status)).toEqual(['final', 'final']);
    const statuses = await database.db.select({ s: blocks.status }).from(blocks).orderBy(asc(blocks.number));
    expect(statuses.map((r) => r.s)).toEqual(['final', 'final', 'final']);
  });

  it('rolls back pending blocks of an abandoned branch and refuses to touch final ones', async () => {
    const main = chainOf(1, hashOf('genesis'), [
      { time: at(0), events: [pay(1, 10n)] },
      { time: at(6), events: [pay(2, 20n), tip(2, 200n)] },
      { time: at(12), events: [pay(3, 30n), tip(3, 300n)] },
    ]);
    await store.writeBatch(main, 1);
    await expect(store.rollbackTo(0)).rejects.toMatchObject({ code: 'FINALITY_VIOLATION' });
    expect(await store.rollbackTo(1)).toEqual({ number: 1, hash: main[0]!.hash });
    expect((await allSettlements()).map((r) => [r.seq, r.status])).toEqual([[1, 'final']]);
    expect(await allTips()).toEqual([]);
    const fork = chainOf(2, main[0]!.hash, [{ time: at(7), events: [pay(2, 21n)] }], 'fork');
    await store.writeBatch(fork, 1);
    const rows = await allSettlements();
    expect(rows.map((r) => [r.blockHash, r.amount, r.status])).toEqual([
      [main[0]!.hash, 10n, 'final'],
      [fork[0]!.hash, 21n, 'pending'],
    ]);
    expect(await store.cursor()).toEqual({
      head: { number: 2, hash: fork[0]!.hash },
      finalized: { number: 1, hash: main[0]!.hash },
    });
  });
});
