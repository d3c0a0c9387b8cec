// Pays the creator from the session account, as the admission's rules say: in arrears every `settleEverySeconds`, or
// with pay-ahead one window before it is watched; and at the end the last arrears and the sweep of the rest back to the
// wallet, in one batch. One settlement is in flight at a time (their amounts depend on the one before).
import type { SessionKind } from '@persecond/contracts-client/browser';
import type { KeyringPair } from '@polkadot/keyring/types';
import { type AssetRef, chainApi, txSubmitter } from '../chain/api.ts';
import type { SettleRules } from './rules.ts';
import { buildFinalSettlement, buildSettlement, type Landed, submitSigned } from './transactions.ts';

/** Whom a session pays, from which account. */
export interface SettlementTarget {
  asset: AssetRef;
  creator: string;
  streamId: string;
  sessionId: string;
  /** The session account's key pair (ed25519). */
  pair: KeyringPair;
}

/** What the Settler asks and tells its session. */
export interface SettlerHooks {
  /** What the session account holds for watching (budget and top-ups): a settlement never exceeds what is left of it. */
  budget(): bigint;
  /** Test hook: true while no settlement may be sent (to see enforcement at work). */
  stopped(): boolean;
  /** A settlement landed in a block (`settled`: the new total), to be told to the server and remembered. */
  landed(settled: bigint, tx: Landed): void;
  /** A settlement did not go through. */
  failed(err: unknown): void;
  /** The admission said what the session pays for (its settlements' remark: `ps1:pay` live, `ps1:replay` replay). */
  following?(kind: SessionKind): void;
}

const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);

/** The session's settlements: what landed (`settled`), what is on its way (`pending`). */
export class Settler {
  /** Settled in a block: what this page paid, or more when the server counted more (a payment after a crash). */
  settled = $state(0n);
  /** On its way and not counted yet. */
  pending = $state(0n);

  #settling: Promise<void> | undefined;
  #rules: SettleRules | undefined;
  /** What the session pays for, from its admission: its settlements say so on chain. */
  #kind: SessionKind = 'live';

  constructor(
    private readonly target: SettlementTarget,
    private readonly price: bigint,
    private readonly hooks: SettlerHooks,
  ) {}

  /**
   * The rules settlements follow and what the session pays for (`admittedRules`), from the admission: until then none
   * are sent but the final one. A replay session's settlements carry `ps1:replay`, which is all its ledger credits.
   */
  follow(rules: SettleRules, kind: SessionKind): void {
    this.#rules = rules;
    this.#kind = kind;
    this.hooks.following?.(kind);
  }

  /** What the session pays for, as its admission said (`live` before one). */
  get kind(): SessionKind {
    return this.#kind;
  }

  /** Planck of one settle window. */
  get window(): bigint {
    return this.#rules ? this.price * BigInt(this.#rules.settleEverySeconds) : 0n;
  }

  /** The server counted `settled` (payment:ok, or a session's standing): never lowers what this page knows. */
  credit(settled: bigint): void {
    if (settled > this.settled) this.settled = settled;
  }

  /** Waits for the settlement in flight, if any. */
  async idle(): Promise<void> {
    await this.#settling;
  }

  /**
   * After each acknowledged tick (`owed` in all, at tick `seq`). In arrears: once a window is unsettled, it is paid.
   * Pay-ahead: once less than half a window is paid beyond `owed`, it is paid up to one window ahead again: never more
   * (so a viewer who stops loses at most the one window it was told), and at least half a window each time.
   */
  due(owed: bigint, seq: number): void {
    if (!this.#rules) return;
    const ahead = this.settled + this.pending - owed;
    if (this.#rules.payAhead) {
      if (ahead < this.window / 2n) void this.#send(this.window - ahead, seq);
    } else if (-ahead >= this.window) {
      void this.#send(-ahead, seq);
    }
  }

  /** Pay-ahead right after admission: the window ahead of `owed` paid before media is expected. */
  prepay(owed: bigint, seq: number): Promise<void> {
    if (!this.#rules?.payAhead) return Promise.resolve();
    return this.#send(owed + this.window - this.settled - this.pending, seq);
  }

  /** The server holds media for payment: pays what it needs now (arrears, or the window ahead with pay-ahead). */
  async urgent(owed: bigint, seq: number): Promise<void> {
    await this.#settling;
    const target = this.#rules?.payAhead ? owed + this.window : owed;
    await this.#send(target - this.settled - this.pending, seq, true);
  }

  /**
   * Ends the session's payments: waits for the settlement in flight, pays `owed − settled` (nothing when more was paid
   * ahead) and sweeps everything left in the session account back to `wallet`, in one batch.
   */
  async finish(p: { owed: bigint; seq: number; sessionAccount: string; wallet: string }): Promise<Landed> {
    await this.#settling;
    const arrears = p.owed > this.settled ? p.owed - this.settled : 0n;
    const tx = await buildFinalSettlement(await chainApi(), {
      asset: this.target.asset,
      creator: this.target.creator,
      amount: arrears,
      streamId: this.target.streamId,
      sessionId: this.target.sessionId,
      seq: p.seq,
      sessionAccount: p.sessionAccount,
      wallet: p.wallet,
      kind: this.#kind,
    });
    const landed = await submitSigned(await txSubmitter(), tx, this.target.pair);
    this.settled += arrears;
    return landed;
  }

  /** Sends one settlement of `amount` (labelled with tick `seq`) unless one is in flight or it is too small to matter. */
  #send(wanted: bigint, seq: number, urgent = false): Promise<void> {
    if (this.#settling || this.hooks.stopped()) return this.#settling ?? Promise.resolve();
    // Never more than the session account holds for watching.
    const amount = min(wanted, this.hooks.budget() - this.settled - this.pending);
    if (amount <= 0n || (!urgent && amount < this.price)) return Promise.resolve();
    const settling = this.#submit(amount, seq).finally(() => {
      this.#settling = undefined;
    });
    this.#settling = settling;
    return settling;
  }

  async #submit(amount: bigint, seq: number): Promise<void> {
    const before = this.settled;
    this.pending += amount;
    try {
      const tx = buildSettlement(await chainApi(), {
        asset: this.target.asset,
        creator: this.target.creator,
        amount,
        streamId: this.target.streamId,
        sessionId: this.target.sessionId,
        seq,
        kind: this.#kind,
      });
      const landed = await submitSigned(await txSubmitter(), tx, this.target.pair);
      // payment:ok may already have counted it.
      this.credit(before + amount);
      this.hooks.landed(this.settled, landed);
    } catch (err) {
      this.hooks.failed(err);
    } finally {
      this.pending -= amount;
    }
  }
}
