import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import type { SQL } from 'drizzle-orm';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';
import * as schema from './schema.ts';

const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The committed drizzle-kit migrations. */
export const MIGRATIONS_FOLDER = join(packageRoot, 'drizzle');

/** Default PGlite directory: `.data/indexer` under the repository root. */
export const DEFAULT_DATA_DIR = resolve(packageRoot, '..', '.data', 'indexer');

/** The drizzle database, whichever driver is underneath. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

/** Runs raw SQL and returns its rows (both drivers answer `{ rows }`). */
export async function queryRows<T>(db: Db, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as { rows: T[] };
  return result.rows;
}

/** An open, migrated database. */
export interface Database {
  readonly db: Db;
  readonly kind: 'pglite' | 'postgres';
  /** Closes the connection (pool or embedded instance); safe to call twice. */
  close(): Promise<void>;
}

/** Where to store data: PostgreSQL when `databaseUrl` is set, else PGlite in `dataDir` (`memory://` for in-memory). */
export interface DatabaseOptions {
  databaseUrl?: string | undefined;
  dataDir?: string | undefined;
  /** Pool size for PostgreSQL. */
  maxConnections?: number;
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => {
    done ??= fn();
    return done;
  };
}

/** Opens the database and applies the committed migrations. */
export async function openDatabase(opts: DatabaseOptions = {}): Promise<Database> {
  if (opts.databaseUrl) {
    const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: opts.maxConnections ?? 5 });
    const close = once(() => pool.end());
    try {
      const db = drizzlePg({ client: pool, schema });
      await migratePg(db, { migrationsFolder: MIGRATIONS_FOLDER });
      return { db, kind: 'postgres', close };
    } catch (err) {
      await close();
      throw err;
    }
  }
  const dataDir = opts.dataDir ?? DEFAULT_DATA_DIR;
  if (!dataDir.includes('://')) await mkdir(dataDir, { recursive: true });
  const client = await PGlite.create(dataDir);
  const close = once(() => client.close());
  try {
    const db = drizzlePglite({ client, schema });
    await migratePglite(db, { migrationsFolder: MIGRATIONS_FOLDER });
    return { db, kind: 'pglite', close };
  } catch (err) {
    await close();
    throw err;
  }
}
