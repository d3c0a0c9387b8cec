import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';
import type { LedgerConfig } from './config.ts';
import { LedgerError } from './errors.ts';
import * as schema from './schema.ts';

/** The committed drizzle-kit migrations of signaling. */
export const LEDGER_MIGRATIONS_FOLDER = join(resolve(dirname(fileURLToPath(import.meta.url)), '../..'), 'drizzle');

// The indexer may share the database: its migrations are tracked in drizzle.__drizzle_migrations, ours apart.
const MIGRATIONS = { migrationsFolder: LEDGER_MIGRATIONS_FOLDER, migrationsTable: '__signaling_migrations' };

/** The drizzle database, whichever driver is underneath. */
export type LedgerDb = PgDatabase<PgQueryResultHKT, typeof schema>;

/** An open, migrated ledger database. */
export interface LedgerDatabase {
  readonly db: LedgerDb;
  readonly kind: 'pglite' | 'postgres';
  /** Closes the connection (pool or embedded instance); safe to call twice. */
  close(): Promise<void>;
}

interface Embedded {
  db: LedgerDb;
  close(): Promise<void>;
}

const shared = new Map<string, { opening: Promise<Embedded>; refs: number }>();

async function openPglite(dataDir: string): Promise<Embedded> {
  const client = await PGlite.create(dataDir);
  try {
    const db = drizzlePglite({ client, schema });
    await migratePglite(db, MIGRATIONS);
    return { db, close: () => client.close() };
  } catch (err) {
    await client.close();
    throw err;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes `<dir>/ledger.lock` (or a stale one, whose process is gone) and opens PGlite in `<dir>/pgdata`. */
async function openLockedPglite(dir: string): Promise<Embedded> {
  await mkdir(dir, { recursive: true });
  const lock = join(dir, 'ledger.lock');
  try {
    await writeFile(lock, String(process.pid), { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const holder = Number((await readFile(lock, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
      throw new LedgerError('LEDGER_LOCKED', `${dir} is used by process ${holder}; set SIGNALING_DATA_DIR elsewhere`);
    }
    await writeFile(lock, String(process.pid));
  }
  try {
    // PostgreSQL wants its data directory to itself.
    const embedded = await openPglite(join(dir, 'pgdata'));
    return {
      db: embedded.db,
      close: async () => {
        await embedded.close();
        await rm(lock, { force: true });
      },
    };
  } catch (err) {
    await rm(lock, { force: true });
    throw err;
  }
}

/**
 * How long an operation may wait for a PostgreSQL connection (a new one, or a free one of the pool) before it fails
 * as LEDGER_UNAVAILABLE.
 */
const CONNECT_TIMEOUT_MS = 10_000;

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => {
    done ??= fn();
    return done;
  };
}

/** Opens PostgreSQL or embedded PGlite (as configured) and applies the committed migrations. */
export async function openLedgerDatabase(config: LedgerConfig): Promise<LedgerDatabase> {
  if ('databaseUrl' in config) {
    const pool = new pg.Pool({
      connectionString: config.databaseUrl,
      max: config.maxConnections,
      // A server that is unreachable (not refusing) would hold a connect, and the meter's round waiting on it,
      // until the OS gives up: the ledger reports it unavailable after this instead.
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      keepAlive: true,
    });
    // An idle connection that the server drops (restart, failover) is discarded by the pool and replaced on the next
    // query; without a listener its 'error' event would crash the process.
    pool.on('error', () => undefined);
    const close = once(() => pool.end());
    try {
      const db = drizzlePg({ client: pool, schema });
      await migratePg(db, MIGRATIONS);
      return { db, kind: 'postgres', close };
    } catch (err) {
      await close();
      throw err;
    }
  }
  if (config.dataDir.includes('://')) {
    const embedded = await openPglite(config.dataDir);
    return { db: embedded.db, kind: 'pglite', close: once(embedded.close) };
  }
  // One embedded instance per directory and process: several nodes of one process (tests, a local cluster) share
  // it as they would share a PostgreSQL server; other processes are kept out by a lock file.
  const dir = resolve(config.dataDir);
  let entry = shared.get(dir);
  if (!entry) {
    const opening = openLockedPglite(dir);
    entry = { opening, refs: 0 };
    shared.set(dir, entry);
    opening.catch(() => shared.delete(dir));
  }
  const current = entry;
  current.refs++;
  let embedded: Embedded;
  try {
    embedded = await current.opening;
  } catch (err) {
    current.refs--;
    throw err;
  }
  const close = once(async () => {
    if (--current.refs > 0) return;
    shared.delete(dir);
    await embedded.close();
  });
  return { db: embedded.db, kind: 'pglite', close };
}
