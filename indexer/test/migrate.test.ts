import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { type Database, MIGRATIONS_FOLDER, openDatabase, queryRows } from '../src/db/database.ts';
import { settlements } from '../src/db/schema.ts';
import { createScratchDatabase } from './support/postgres.ts';

const U128_MAX = 2n ** 128n - 1n;
/** Migrations drizzle-kit generated (the journal lists each once). */
const MIGRATIONS = (
  JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] }
).entries.length;

/** Checks the migrated schema and an exact u128 round trip, then that re-opening does not re-apply migrations. */
async function checkMigrated(database: Database, reopen: () => Promise<Database>): Promise<void> {
  const { db } = database;
  const tables = await queryRows<{ table_name: string }>(
    db,
    sql`select table_name from information_schema.tables where table_schema = 'public' order by table_name`,
  );
  expect(tables.map((r) => r.table_name)).toEqual([
    'blocks',
    'cursor',
    'sessions',
    'settlements',
    'stream_metadata',
    'streams',
    'tips',
  ]);

  const amountTypes = await queryRows<{ table_name: string; precision: number; scale: number }>(
    db,
    sql`select table_name, numeric_precision as precision, numeric_scale as scale from information_schema.columns
        where table_schema = 'public' and column_name = 'amount' order by table_name`,
  );
  expect(amountTypes.map((r) => [r.table_name, Number(r.precision), Number(r.scale)])).toEqual([
    ['sessions', 39, 0],
    ['settlements', 39, 0],
    ['tips', 39, 0],
  ]);

  await db.insert(settlements).values({
    id: '0xabc:1:2',
    streamId: 's1',
    sessionId: 'x1',
    seq: 7,
    payer: 'payer',
    creator: 'creator',
    asset: 'native',
    amount: U128_MAX,
    blockNumber: 1,
    blockHash: '0xabc',
    extrinsicIndex: 1,
    eventIndex: 2,
    extrinsicHash: '0xdef',
    blockTime: new Date('2026-01-01T00:00:00Z'),
  });
  const [row] = await db.select().from(settlements).where(eq(settlements.id, '0xabc:1:2'));
  expect(row?.amount).toBe(U128_MAX);
  expect(row?.status).toBe('pending');
  await expect(db.insert(settlements).values({ ...row!, id: 'negative', amount: -1n })).rejects.toThrow();

  await database.close();
  await database.close();
  const again = await reopen();
  try {
    const applied = await queryRows<{ n: string }>(
      again.db,
      sql`select count(*)::text as n from drizzle.__drizzle_migrations`,
    );
    expect(MIGRATIONS).toBeGreaterThanOrEqual(2);
    expect(applied[0]?.n).toBe(String(MIGRATIONS));
    const [kept] = await again.db.select().from(settlements);
    expect(kept?.amount).toBe(U128_MAX);
  } finally {
    await again.close();
  }
}

describe('migrations', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('apply on embedded PGlite', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'persecond-indexer-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const database = await openDatabase({ dataDir: dir });
    expect(database.kind).toBe('pglite');
    await checkMigrated(database, () => openDatabase({ dataDir: dir }));
  });

  const url = process.env.DATABASE_URL;
  it.skipIf(!url)('apply on PostgreSQL (DATABASE_URL)', async () => {
    const scratch = await createScratchDatabase(url!);
    cleanups.push(scratch.drop);
    const database = await openDatabase({ databaseUrl: scratch.url });
    expect(database.kind).toBe('postgres');
    await checkMigrated(database, () => openDatabase({ databaseUrl: scratch.url }));
  });
});
