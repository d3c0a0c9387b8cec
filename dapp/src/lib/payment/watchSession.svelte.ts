// A viewer's paid watch session, the reactive front of the payment loop: funds a session key with the wallet (budget
// and delegation, before watching: sessionFunding), joins with a proof that it holds the key and plays (joining),
// acknowledges each tick it saw (VoucherLoop), pays the creator as the admission's rules say (Settler: in arrears, or
// a window ahead), and on leave pays the rest and sweeps the remainder back to the wallet (leaving). While the page is
// open it keeps what does not depend on the click warm (ViewerConnection: chain, socket, WebRTC device, hls.js) and
// offers a session left from an earlier visit (earlierSession), so "Watch" on a funded session starts at once. A
// replay session (kind `replay`) is the same session on the stream's recording: `replay:join`, played over HLS.

import type { MediaPauseReason, ViewerReleaseReason } from '@persecond/signaling/protocol';
import type { StreamView } from '../api/streams.ts';
import type { AuthSession } from '../auth/session.svelte.ts';
import type { TxPhase } from '../chain/txPhase.ts';
import { explain, UserFacingError } from '../errors.ts';
import type { QualityControl } from '../media/hlsQuality.ts';
import type { EdgeRefusal } from '../media/player.ts';
import { checkReplayWatchable } from '../replays/api.ts';
import type { Wallet } from '../wallet/wallet.svelte.ts';
import type { Delegated } from './admission.ts';
import type { OutstandingDebt } from './debtRepayment.ts';
import { findEarlierSession } from './earlierSession.ts';
import type { FundedSession } from './FundedSession.ts';
import { type WalletShortfall, WalletShortfallError } from './funding.ts';
import { type Admitted, type JoinMode, join, payDebtAndJoin, type Refusal } from './joining.ts';
import { leaveAndPay } from './leaving.ts';
import { openFundedSession } from './opening.ts';
import { fundSession, newSessionRecord, signDelegation } from './sessionFunding.ts';
import type { SessionKey } from './sessionKey.ts';
import type { StoredSession } from './sessionStore.ts';
import { type EndFigures, endFiguresOf, streamHasEnded } from './streamEnd.ts';
import { ViewerConnection } from './ViewerConnection.ts';
import type { SessionKind, WatchPhase, WatchTimings } from './watchStatus.ts';

export type { OutstandingDebt } from './debtRepayment.ts';
export { type WalletShortfall, WalletShortfallError } from './funding.ts';
export type { EndFigures } from './streamEnd.ts';
export type { SessionKind, WatchPhase, WatchTimings } from './watchStatus.ts';

/** Warn when less than this many seconds of budget are left. */
export const LOW_BUDGET_SECONDS = 30;

/** One viewer's sessions on one stream, for one wallet account. */
export class WatchSession {
  phase = $state<WatchPhase>('idle');
  fundingTx = $state<TxPhase>('idle');
  /** A funded session (this visit's or one left from an earlier visit) that "Watch" starts at once. */
  ready = $state<{ budget: bigint; reused: boolean } | undefined>();
  mode = $state<'webrtc' | 'hls' | undefined>();
  /** The quality menu control (simulcast layers over WebRTC, renditions over hls.js; set with `mode`). */
  quality = $state.raw<QualityControl | undefined>();
  connection = $state<'good' | 'reconnecting' | 'lost'>('good');
  mediaPaused = $state(false);
  /** Why media stopped (`voucher-lag`, `settlement-lag`, `voucher-invalid`, `creator-away`), while `mediaPaused`. */
  pauseReason = $state<MediaPauseReason | undefined>();
  paymentRequired = $state(false);
  /** Stable code of the last refusal (BALANCE_INSUFFICIENT, DEBT_OUTSTANDING…), for the action that fixes it. */
  refusal = $state<Refusal | undefined>();
  /** Set with a DEBT_OUTSTANDING refusal. */
  debt = $state<OutstandingDebt | undefined>();
  payingDebt = $state(false);
  problem = $state<string | undefined>();
  /** Set when the wallet cannot fund the budget it was asked for (what it has and what it needs). */
  walletShortfall = $state<WalletShortfall | undefined>();
  watchedSeconds = $state(0);
  owed = $state(0n);
  budget = $state(0n);
  /** The rules the server admitted this session under, and the viewer's worst case under them (planck). */
  admitted = $state<Admitted | undefined>();
  /** Test hook: when true, no settlement is sent (to see enforcement at work). */
  settlementsStopped = $state(false);
  readonly timings: WatchTimings = {};
  /** What the server's ledger said at the last leave (`viewer:leave`): metered and settled, planck. Not reactive. */
  readonly final: { owed?: string; settled?: string; watchedSeconds?: number } = {};
  /** The stream ended (the server said so): nothing more is funded or watched here. */
  streamOver = $state(false);
  /** What the session came to at the stream's end (server's seconds, chain's amounts), once its last payment landed. */
  endFigures = $state.raw<EndFigures | undefined>();
  /** The HLS edge's last refusal while media does not load (402 payments behind, 429 too fast, 404 gone). */
  edgeRefusal = $state.raw<EdgeRefusal | undefined>();
  /** Why the server ended this replay session (`replay-deleted`), once it did. */
  releasedFor = $state<ViewerReleaseReason | undefined>();

  readonly remaining = $derived(this.budget - this.owed);
  /** In flight and not yet counted as settled (the server may confirm a settlement before the wallet hears back). */
  readonly pendingShown = $derived.by(() => {
    const unsettled = this.owed > this.settled ? this.owed - this.settled : 0n;
    return this.pending < unsettled ? this.pending : unsettled;
  });
  readonly secondsLeft = $derived(this.price > 0n ? Number(this.remaining / this.price) : Number.POSITIVE_INFINITY);
  readonly lowBudget = $derived(this.phase === 'watching' && this.secondsLeft < LOW_BUDGET_SECONDS);

  #funded = $state.raw<FundedSession | undefined>();
  #delegation: Delegated | undefined;
  readonly #link: ViewerConnection;
  #warming: Promise<void> | undefined;
  #closed = false;

  /** The wallet account this session was made for. */
  readonly account: string | undefined;

  constructor(
    private readonly wallet: Wallet,
    auth: AuthSession,
    readonly stream: StreamView,
    /** The live stream, or its replay (then `stream` carries the replay's price). */
    readonly kind: SessionKind = 'live',
  ) {
    this.account = wallet.selectedAddress;
    const hooks = {
      funded: () => this.#funded,
      rejoin: () => void this.#join(this.mode ?? 'auto').catch((err) => this.#fail(err)),
    };
    this.#link = new ViewerConnection(auth, stream.streamId, this, hooks, kind);
  }

  /** Price per second in planck. */
  get price(): bigint {
    return BigInt(this.stream.pricePerSecond);
  }

  /** Settled in a block. */
  get settled(): bigint {
    return this.#funded?.settler.settled ?? 0n;
  }

  /** Settlements on their way. */
  get pending(): bigint {
    return this.#funded?.settler.pending ?? 0n;
  }

  /** The funded session key's account (what pays the creator), if any. */
  get sessionAccount(): string | undefined {
    return this.#funded?.key.address;
  }

  /**
   * Gets ready for a click on Watch while the page is open: chain connection and crypto, the signed-in socket, the
   * stream's WebRTC device and the hls.js module; offers a funded session left from an earlier visit. Best effort:
   * whatever fails here is done again (and reported) on Watch.
   */
  warmUp(): Promise<void> {
    this.#warming ??= Promise.allSettled([
      this.#link.chainReady().then(() => this.#restoreStored()),
      this.#link.warmUp(),
    ]).then(() => undefined);
    return this.#warming;
  }

  /** Funds a new session key with `budget` and signs its delegation (wallet signatures); does not start watching. */
  async fund(budget: bigint): Promise<boolean> {
    const account = this.wallet.selected;
    if (!account) {
      this.problem = 'Connect your wallet and pick an account first.';
      return false;
    }
    this.timings.fundStart = performance.now();
    this.#clearMessages();
    try {
      // Never a budget for an ended stream, nor for a replay gone: asked afresh, before the wallet signs anything.
      if (this.kind === 'replay') await checkReplayWatchable(this.stream.streamId);
      else if (await streamHasEnded(this.stream.streamId)) {
        this.streamOver = true;
        return false;
      }
      await this.#link.chainReady();
      const { key, stored } = await newSessionRecord(account.address, this.stream, this.kind);
      this.#open(key, stored);
      this.#delegation = undefined;
      this.ready = undefined;
      this.phase = 'funding';
      await fundSession(this, this.wallet, () => this.#funded, budget);
      this.timings.funded = performance.now();
      // The delegation depends on nothing the viewer does later: signed now, so Watch needs no wallet at all.
      const to = { genesisHash: this.#link.genesis, stream: this.stream, sessionId: stored.sessionId, key, budget };
      this.#delegation = await signDelegation(this.wallet, to);
      const { message, signature } = this.#delegation;
      this.timings.delegated = performance.now();
      this.#funded?.remember({ delegation: { message, signature, budget: budget.toString() } });
      this.ready = { budget, reused: false };
      this.phase = 'funded';
      return true;
    } catch (err) {
      this.#fail(err);
      return false;
    }
  }

  /** Starts watching with the funded session: no wallet signature, no transaction. */
  async watch(video: HTMLVideoElement, mode: 'auto' | 'webrtc' | 'hls' = 'auto'): Promise<void> {
    this.timings.watchStart = performance.now();
    this.#link.video = video;
    this.#clearMessages();
    if (!this.ready || !this.#funded || !this.#delegation) {
      this.problem = 'Fund a budget first: watching is paid from it.';
      return;
    }
    try {
      await this.#join(mode);
    } catch (err) {
      this.#fail(err);
    }
  }

  /** "Fund & watch": funds a new session with `budget`, then starts watching. */
  async start(budget: bigint, video: HTMLVideoElement, mode: 'auto' | 'webrtc' | 'hls' = 'auto'): Promise<void> {
    if (await this.fund(budget)) await this.watch(video, mode);
  }

  /** Adds `amount` to the session's budget (one wallet signature). */
  async topUp(amount: bigint): Promise<void> {
    try {
      await fundSession(this, this.wallet, () => this.#funded, amount);
      if (this.refusal?.code === 'BALANCE_INSUFFICIENT' && this.#link.video) await this.#join('auto');
    } catch (err) {
      this.#fail(err);
    }
  }

  /**
   * Ends the session: `viewer:leave` first (it ends the metering and tells the final owed and settled), then pays
   * what is still owed once the settlement in flight landed, and sweeps the rest of the budget back to the wallet.
   */
  leave(): Promise<void> {
    return this.#close(undefined);
  }

  /**
   * The server ended the session (`viewer:released`). A replay session whose replay was deleted pays what the server
   * metered (its figures, as on leave) and sweeps the rest back; live releases are not acted on here.
   */
  async released(p: { reason: ViewerReleaseReason; owed: string; settled: string }): Promise<void> {
    if (this.kind !== 'replay') return;
    this.releasedFor = p.reason;
    await this.#close({ owed: p.owed, settled: p.settled });
  }

  async #close(released: { owed: string; settled: string } | undefined): Promise<void> {
    if (this.phase === 'left' || this.phase === 'leaving' || this.phase === 'ended') return;
    const wallet = this.wallet.selectedAddress;
    const funded = this.#funded;
    this.phase = 'leaving';
    this.#stopPlayback();
    try {
      const parts = { socket: this.#link.socket, funded, wallet, ...(released ? { released } : {}) };
      const final = await leaveAndPay(this, parts);
      this.ready = undefined;
      this.mode = undefined;
      if (this.streamOver && final && funded) {
        const { watchedSeconds } = this.final;
        const of = { sessionId: funded.sessionId, asset: this.stream.asset, watchedSeconds };
        this.endFigures = await endFiguresOf(final, of).catch((err: unknown) => {
          console.warn('could not read the final settlement from the chain', err);
          this.problem = 'Your last payment went through, but its amounts could not be read from the chain just now.';
          return undefined;
        });
      }
      this.phase = this.streamOver ? 'ended' : 'left';
    } catch (err) {
      this.#fail(err);
    } finally {
      // The socket stays for the next session; this session's membership ended with viewer:leave.
      this.mediaPaused = false;
      this.paymentRequired = false;
      this.edgeRefusal = undefined;
    }
  }

  /** The stream ended (`stream:ended`): the session is closed and paid as on leave, its figures kept for the page. */
  async streamEnded(): Promise<void> {
    this.streamOver = true;
    await this.leave();
  }

  /**
   * Pays the debt the server reported from the session accounts of earlier sessions this browser still holds keys
   * for (a crashed tab's), sweeps what they hold back to the wallet, and asks to join again.
   */
  async payDebt(): Promise<void> {
    const except = this.#funded?.sessionId ?? '';
    const again = () => this.#join(this.mode ?? 'auto');
    await payDebtAndJoin(this, { wallet: this.wallet.selectedAddress, except, link: this.#link, join: again });
  }

  /** Test hook (dev builds): stops sending settlements, to see payment enforcement pause the video. */
  stopSettlements(): void {
    this.settlementsStopped = true;
  }

  /** Sends settlements again and pays what is owed now ("Pay now"). */
  async payNow(): Promise<void> {
    this.settlementsStopped = false;
    const f = this.#funded;
    if (f) await f.settler.urgent(this.owed, f.vouchers.lastAckSeq);
  }

  /** Stops everything without paying (the stored session key lets the next visit settle). */
  close(): void {
    this.#closed = true;
    this.#funded?.vouchers.stop();
    this.#link.close();
  }

  /** Takes `key` (with its stored record) as this page's session: fresh meter, settler and figures. */
  #open(key: SessionKey, stored: StoredSession): FundedSession {
    this.#funded = openFundedSession(this, this.#link, key, stored);
    return this.#funded;
  }

  async #join(mode: JoinMode): Promise<void> {
    await join(
      this,
      {
        link: this.#link,
        wallet: this.wallet,
        funded: this.#funded,
        delegation: this.#delegation,
        stopPlayback: () => this.#stopPlayback(),
        join: (again) => this.#join(again),
      },
      mode,
    );
    // Refused because the stream ended meanwhile: the page says so (and offers the budget back), not "try again".
    if (this.refusal?.code === 'STREAM_NOT_LIVE' && this.refusal.details?.status === 'ended') this.streamOver = true;
  }

  /** Offers a session of this stream left from an earlier visit, if its account still holds enough to watch. */
  async #restoreStored(): Promise<void> {
    const wallet = this.wallet.selectedAddress;
    if (!wallet || this.#funded || this.#closed) return;
    const earlier = await findEarlierSession(wallet, this.stream, this.kind);
    if (!earlier || this.#funded) return;
    const { key, stored, delegation, held } = earlier;
    const { settler } = this.#open(key, stored);
    this.#delegation = delegation;
    // What it signed for and saw settled: leaving before watching again still pays what that visit owed.
    this.owed = BigInt(stored.acknowledged ?? '0');
    settler.credit(BigInt(stored.settled ?? '0'));
    this.ready = { budget: held, reused: true };
    if (this.phase === 'idle' || this.phase === 'left') this.phase = 'funded';
  }

  #stopPlayback(): void {
    this.#funded?.vouchers.stop();
    this.#link.player.stop();
  }

  #clearMessages(): void {
    this.problem = undefined;
    this.refusal = undefined;
    this.debt = undefined;
    this.walletShortfall = undefined;
  }

  #fail(err: unknown): void {
    // A shortfall is shown with its amounts and what to do, not as a one-line problem.
    if (err instanceof WalletShortfallError) this.walletShortfall = err.shortfall;
    else this.problem = explain(err);
    // People see a sentence; developers need the cause.
    if (!(err instanceof UserFacingError)) console.error('watch session failed', err);
    this.phase = 'failed';
    this.fundingTx = this.fundingTx === 'signing' ? 'failed' : this.fundingTx;
  }
}
