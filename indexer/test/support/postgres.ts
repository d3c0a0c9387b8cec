import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** A throwaway PostgreSQL database created through the server's `test` database. */
export interface ScratchDatabase {
  readonly url: string;
  readonly name: string;
  /** Drops the database (terminating leftover connections); safe to call twice. */
  drop(): Promise<void>;
}

/** Creates a database with a random name on the server of `baseUrl` (normally CI's DATABASE_URL). */
export async function createScratchDatabase(baseUrl: string): Promise<ScratchDatabase> {
  const name = `persecond_indexer_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  let dropped: Promise<void> | undefined;
  const drop = (): Promise<void> => {
    dropped ??= (async () => {
      const c = new pg.Client({ connectionString: baseUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    })();
    return dropped;
  };
  return { url: url.toString(), name, drop };
}
