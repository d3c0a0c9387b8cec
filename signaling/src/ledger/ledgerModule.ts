import {
  type BlockRef,
  type ChainClient,
  SettlementWatcher,
  type TipEvent,
  type WatchedBlock,
} from '@persecond/contracts-client';
import type { Logger } from 'pino';
import { Counter, Gauge } from 'prom-client';
import type { SignalingContext, SignalingModule, SignalingModuleFactory } from '../SignalingContext.ts';
import { readChainBlock } from './chainBlocks.ts';
import { type LedgerConfig, loadLedgerConfig } from './config.ts';
import {
  type AppliedBlock,
  type FundingRecord,
  Ledger,
  type LedgerHealth,
  type SettlementChange,
  type WatcherCursor,
} from './Ledger.ts';

export type { FundingRecord, SettlementChange } from './Ledger.ts';

/**
 * The tips of one block the node's watcher delivered (`pending` in a block, then `final`), or a block that lost its
 * fork (`retracted`), after the ledger wrote the block.
 */
export type TipDelivery =
  | { status: 'pending' | 'final'; block: BlockRef; tips: TipEvent[] }
  | { status: 'retracted'; block: BlockRef };

/** Pause before restarting a settlement watcher that stopped on an error. */
const RESTART_DELAY_MS = 1_000;

/** The `ledger` signaling module: the node's Ledger, credited from the chain's settlements. */
export interface LedgerModule extends SignalingModule {
  readonly name: 'ledger';
  readonly ledger: Ledger;
  /** Subscribes to settlement changes (e.g. to resume a paused viewer); returns the unsubscribe function. */
  onSettlement(listener: (change: SettlementChange) => void): () => void;
  /**
   * Subscribes to the watcher's blocks with tips and to retracted blocks (e.g. the chat's tipped messages); the
   * watcher waits for each listener, in chain order, and carries on when one fails. Returns the unsubscribe function.
   */
  onTips(listener: (delivery: TipDelivery) => Promise<void>): () => void;
  /**
   * The session's fundings seen on chain. When none recorded yet is in `blockHash` and that names a block of this
   * chain, the block is read, all its fundings recorded (final when the block is finalized), and the session's
   * returned: someone else's funding of the same session id recorded earlier does not hide the one the client names.
   * A hash that is not a block of this chain (malformed, unknown, or on a dead fork) adds nothing; a failed chain read
   * rejects.
   */
  fundingOf(sessionId: string, opts?: { blockHash?: string }): Promise<FundingRecord[]>;
  /** The ledger database's reachability (`/healthz`: degraded while it cannot be reached). */
  health(): LedgerHealth;
}

/** How the module gets its ledger. */
export interface LedgerModuleOptions {
  /** Where to store data (default: from the environment, parsed when the module is created). */
  config?: LedgerConfig;
  /** Follow the chain and credit settlements when the node has a chain (default true). */
  watchSettlements?: boolean;
}

/** The ledger module of `ctx.modules`; throws when the node was built without it. */
export function ledgerModuleOf(modules: ReadonlyMap<string, SignalingModule>): LedgerModule {
  const mod = modules.get('ledger');
  if (!mod || !('ledger' in mod)) throw new Error('the ledger module must be created before this one');
  return mod as LedgerModule;
}

async function startWatcher(
  chain: ChainClient,
  ledger: Ledger,
  log: Logger,
  onBlock: (delivery: WatchedBlock) => Promise<void>,
): Promise<SettlementWatcher> {
  const cursor = await ledger.watcherCursor();
  const { genesisHash } = chain.facts;
  if (cursor && cursor.genesisHash === genesisHash) {
    try {
      return await SettlementWatcher.start(chain, { onBlock, from: { number: cursor.number, hash: cursor.hash } });
    } catch (err) {
      // E.g. a dev chain restarted from genesis: its old cursor names a block that no longer exists.
      log.warn({ err, cursor }, 'cannot resume settlements from the stored cursor; following from the finalized head');
    }
  }
  return SettlementWatcher.start(chain, { onBlock });
}

/**
 * Counts and logs the ledger database going away and coming back: `signaling_ledger_available` (1/0),
 * `signaling_ledger_unavailable_seconds_total` and `signaling_ledger_unreachable_errors_total` (operations failed).
 */
function watchAvailability(ledger: Ledger, ctx: SignalingContext, log: Logger): void {
  const registers = [ctx.metrics.registry];
  const available = new Gauge({
    name: 'signaling_ledger_available',
    help: 'Whether the ledger database answered last time it was asked (1) or cannot be reached (0)',
    registers,
  });
  available.set(1);
  let accountedUntil = 0;
  const unavailableSeconds = new Counter({
    name: 'signaling_ledger_unavailable_seconds_total',
    help: 'Seconds the ledger database could not be reached (the node was degraded)',
    registers,
    // Counted up to the scrape while the outage lasts, not only once it ends.
    collect() {
      const downMs = ledger.availability.downMs;
      if (downMs > accountedUntil) this.inc((downMs - accountedUntil) / 1000);
      accountedUntil = downMs;
    },
  });
  const unreachable = new Counter({
    name: 'signaling_ledger_unreachable_errors_total',
    help: 'Ledger operations that failed because the database could not be reached (LEDGER_UNAVAILABLE)',
    registers,
  });
  ledger.availability.hooks = {
    onUnreachable: () => unreachable.inc(),
    onChange(up, { err, downMs = 0 }) {
      available.set(up ? 1 : 0);
      if (!up) {
        log.error({ err }, 'ledger database unreachable: the node is degraded (ticks are not sent, joins refused)');
        return;
      }
      if (downMs > accountedUntil) unavailableSeconds.inc((downMs - accountedUntil) / 1000);
      accountedUntil = 0;
      log.warn({ downMs }, 'ledger database reachable again');
    },
  };
}

/** Creates the ledger module factory (tests pass their own storage). */
export function createLedgerModule(opts: LedgerModuleOptions = {}): SignalingModuleFactory {
  return async (ctx: SignalingContext): Promise<LedgerModule> => {
    const log = ctx.log.child({ part: 'ledger' });
    const ledger = await Ledger.open(opts.config ?? loadLedgerConfig(), { log });
    const listeners = new Set<(change: SettlementChange) => void>();
    const tipListeners = new Set<(delivery: TipDelivery) => Promise<void>>();
    const credits = new Counter({
      name: 'signaling_ledger_settlement_credits_total',
      help: 'Settlements seen on chain, by what they did to the ledger',
      labelNames: ['outcome'] as const,
      registers: [ctx.metrics.registry],
    });
    const quarantined = new Counter({
      name: 'signaling_ledger_quarantined_events_total',
      help: 'Chain events the ledger could not apply and set aside (the watcher carried on), by kind',
      labelNames: ['kind'] as const,
      registers: [ctx.metrics.registry],
    });
    watchAvailability(ledger, ctx, log);
    const notify = (change: SettlementChange) => {
      for (const listener of listeners) {
        try {
          listener(change);
        } catch (err) {
          log.error({ err, change }, 'settlement listener failed');
        }
      }
    };
    /** Counts, logs and announces what a written block did. */
    const report = (applied: AppliedBlock) => {
      for (const event of applied.quarantined) {
        quarantined.inc({ kind: event.kind });
        log.error({ event }, 'chain event quarantined: the ledger cannot apply it; the watcher carries on');
      }
      for (const outcome of applied.outcomes) credits.inc({ outcome });
      for (const change of applied.changes) {
        if (change.outcome === 'retracted') credits.inc({ outcome: 'retracted' });
        notify(change);
      }
    };
    const onBlock = async (delivery: WatchedBlock): Promise<void> => {
      // The cursor moves with a final block's credits, in the same transaction.
      let cursor: WatcherCursor | undefined;
      if (delivery.status === 'final' && ctx.chain) {
        const { hash, number } = delivery.block;
        cursor = { genesisHash: ctx.chain.facts.genesisHash, number, hash };
      }
      report(await ledger.applyBlock(delivery, cursor));
      if (tipListeners.size > 0) await notifyTips(delivery);
    };
    /** Hands a block's tips (or its retraction) to the tip listeners; a failing listener does not stop the watcher. */
    const notifyTips = async (delivery: WatchedBlock): Promise<void> => {
      const { hash, number, parentHash } = delivery.block;
      const block = { hash, number, parentHash };
      let tipDelivery: TipDelivery;
      if (delivery.status === 'retracted') tipDelivery = { status: 'retracted', block };
      else {
        const tips = delivery.block.events.filter((e): e is TipEvent => e.type === 'tip');
        if (tips.length === 0) return;
        tipDelivery = { status: delivery.status, block, tips };
      }
      for (const listener of tipListeners) {
        try {
          await listener(tipDelivery);
        } catch (err) {
          log.error({ err, block }, 'tip listener failed');
        }
      }
    };
    let watcher: SettlementWatcher | undefined;
    let retry: NodeJS.Timeout | undefined;
    let restarting: Promise<void> | undefined;
    let closing: Promise<void> | undefined;
    const chain = ctx.chain;
    // A failed block (e.g. the database briefly unreachable; events that can never be applied are quarantined
    // instead) stops the watcher; it is restarted from the stored cursor, which moves in the same transaction as a
    // final block's credits, and credits are idempotent: nothing is lost or counted twice.
    const follow = async (chainClient: ChainClient): Promise<void> => {
      const current = await startWatcher(chainClient, ledger, log, onBlock);
      if (closing) {
        await current.close();
        return;
      }
      watcher = current;
      void current.closed.then((err) => {
        if (!err || closing) return;
        log.error({ err }, 'settlement watcher stopped; restarting from the stored cursor');
        const again = () => {
          retry = undefined;
          if (closing) return;
          restarting = follow(chainClient).catch((restartErr: unknown) => {
            log.error({ err: restartErr }, 'settlement watcher restart failed');
            if (!closing) retry = setTimeout(again, RESTART_DELAY_MS);
          });
        };
        retry = setTimeout(again, RESTART_DELAY_MS);
      });
    };
    if (chain && opts.watchSettlements !== false) {
      try {
        await follow(chain);
      } catch (err) {
        await ledger.close();
        throw err;
      }
    }
    const blockReads = new Map<string, Promise<void>>();
    return {
      name: 'ledger',
      ledger,
      onSettlement(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      onTips(listener) {
        tipListeners.add(listener);
        return () => tipListeners.delete(listener);
      },
      health: () => ledger.availability.health(),
      async fundingOf(sessionId, fundingOpts = {}) {
        const recorded = await ledger.fundingsOf(sessionId);
        const { blockHash } = fundingOpts;
        if (!blockHash || !chain || recorded.some((f) => f.blockHash === blockHash.toLowerCase())) return recorded;
        // Joins naming the same block (a wallet funds many sessions in one batch) share one read of it.
        let reading = blockReads.get(blockHash);
        if (!reading) {
          reading = (async () => {
            const read = await readChainBlock(chain, blockHash);
            if (!read) return;
            // Only the block's fundings: its settlements are the watcher's to credit, in chain order.
            const fundings = read.block.events.filter((e) => e.type === 'funding');
            report(await ledger.applyBlock({ status: read.status, block: { ...read.block, events: fundings } }));
          })().finally(() => blockReads.delete(blockHash));
          blockReads.set(blockHash, reading);
        }
        await reading;
        return ledger.fundingsOf(sessionId);
      },
      close() {
        closing ??= (async () => {
          listeners.clear();
          tipListeners.clear();
          clearTimeout(retry);
          await restarting;
          await watcher?.close();
          await ledger.close();
        })();
        return closing;
      },
    };
  };
}

/** The ledger module as configured by the environment (DATABASE_URL or SIGNALING_DATA_DIR). */
export const ledgerModule: SignalingModuleFactory = createLedgerModule();
