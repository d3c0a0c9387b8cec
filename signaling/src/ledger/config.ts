import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** Default embedded database: `.data/signaling` at the repository root. */
export const DEFAULT_LEDGER_DATA_DIR = fileURLToPath(new URL('../../../.data/signaling', import.meta.url));

const LedgerEnv = z.object({
  /** PostgreSQL; when unset the ledger uses embedded PGlite in SIGNALING_DATA_DIR. */
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  /** PGlite data directory (`memory://` keeps it in memory). */
  SIGNALING_DATA_DIR: z.string().min(1).default(DEFAULT_LEDGER_DATA_DIR),
  /** PostgreSQL pool size. */
  LEDGER_MAX_CONNECTIONS: z.coerce.number().int().min(1).max(100).default(5),
});

/** Where the ledger stores its data. */
export type LedgerConfig = { databaseUrl: string; maxConnections: number } | { dataDir: string };

/** Parses the ledger's variables of `env`; throws a readable error on bad values. */
export function loadLedgerConfig(env: NodeJS.ProcessEnv = process.env): LedgerConfig {
  // Empty variables (`FOO=`) mean "unset", as in the rest of signaling's configuration.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = LedgerEnv.safeParse(present);
  if (!parsed.success) throw new Error(`invalid ledger configuration: ${z.prettifyError(parsed.error)}`);
  const { DATABASE_URL, SIGNALING_DATA_DIR, LEDGER_MAX_CONNECTIONS } = parsed.data;
  return DATABASE_URL
    ? { databaseUrl: DATABASE_URL, maxConnections: LEDGER_MAX_CONNECTIONS }
    : { dataDir: SIGNALING_DATA_DIR };
}
