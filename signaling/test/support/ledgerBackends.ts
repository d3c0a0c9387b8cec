import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { ChainClient } from '@persecond/contracts-client';
import { cryptoWaitReady, encodeAddress } from '@polkadot/util-crypto';
import pg from 'pg';
import { type Logger, pino } from 'pino';
import { Registry } from 'prom-client';
import type { LedgerConfig } from '../../src/ledger/config.ts';
import { Ledger, type SessionOpening, type TickRecord } from '../../src/ledger/Ledger.ts';
import { createLedgerModule, type LedgerModule } from '../../src/ledger/ledgerModule.ts';
import type { SignalingContext } from '../../src/SignalingContext.ts';

/** Storage a ledger suite runs on: a config to open, and its disposal. */
export interface LedgerBackend {
  name: string;
  config: LedgerConfig;
  dispose(): Promise<void>;
}

/** Embedded PGlite in a scratch directory. */
export function pgliteBackend(): LedgerBackend {
  const dir = mkdtempSync(join(tmpdir(), 'persecond-ledger-'));
  return {
    name: 'PGlite',
    config: { dataDir: dir },
    dispose: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A scratch database (unique name per run) on the PostgreSQL server of `baseUrl`, dropped on disposal. */
export async function postgresBackend(baseUrl: string): Promise<LedgerBackend> {
  const name = `persecond_ledger_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    name: 'PostgreSQL',
    config: { databaseUrl: url.toString(), maxConnections: 3 },
    async dispose() {
      const c = new pg.Client({ connectionString: baseUrl });
      await c.connect();
      try {
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A ledger open on its backend, as a suite holds them. */
export interface OpenLedger {
  backend: LedgerBackend;
  ledger: Ledger;
}

/** A ledger opened on a new backend of `makeBackend` (once the crypto it verifies with is ready). */
export async function openLedgerOn(makeBackend: () => Promise<LedgerBackend>): Promise<OpenLedger> {
  await cryptoWaitReady();
  const backend = await makeBackend();
  return { backend, ledger: await Ledger.open(backend.config) };
}

/** Closes the ledger, then disposes of its backend (either may be missing when the suite's setup failed). */
export async function closeLedgerOn({ backend, ledger }: Partial<OpenLedger>): Promise<void> {
  await ledger?.close();
  await backend?.dispose();
}

/** A distinct, valid account for each call. */
export function account(): string {
  return encodeAddress(randomBytes(32), 42);
}

/** A session opening with fresh ids and accounts. */
export function opening(overrides: Partial<SessionOpening> = {}): SessionOpening {
  return {
    sessionId: `sess-${randomBytes(6).toString('hex')}`,
    streamId: 'stream-ledger-batch',
    wallet: account(),
    sessionAccount: account(),
    creator: account(),
    asset: 'native',
    pricePerSecond: 7n,
    budget: 10_000n,
    ...overrides,
  };
}

/** Tick `seq` of a session at its price (one second per tick). */
export function tickOf(s: SessionOpening, seq: number): TickRecord {
  return { sessionId: s.sessionId, seq, watchedSeconds: seq, owed: BigInt(seq) * s.pricePerSecond };
}

/**
 * The node's ledger module alone on `chain` (no SFU, pinner or HTTP server): a context with the parts it uses, a
 * real logger, metrics registry and chain client.
 */
export async function ledgerModuleOn(
  chain: ChainClient | undefined,
  config: LedgerConfig,
  opts: { watchSettlements?: boolean; log?: Logger; registry?: Registry } = {},
): Promise<LedgerModule> {
  const ctx = {
    log: opts.log ?? pino({ level: 'silent' }),
    chain,
    metrics: { registry: opts.registry ?? new Registry() },
  };
  const factory = createLedgerModule({ config, watchSettlements: opts.watchSettlements });
  return (await factory(ctx as unknown as SignalingContext)) as LedgerModule;
}

/** Polls `probe` every 100 ms until it answers something other than undefined; throws after `ms`. */
export async function until<T>(probe: () => Promise<T | undefined>, what: string, ms = 90_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A logger at `error` that keeps each line it writes, parsed, in `lines`. */
export function capturedLog<T = { msg: string }>(): { log: Logger; lines: T[] } {
  const lines: T[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { log: pino({ level: 'error' }, sink), lines };
}
