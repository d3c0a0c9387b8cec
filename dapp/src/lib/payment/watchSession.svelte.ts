// A viewer's paid watch session, the reactive front of the payment loop: funds a session key with the wallet (budget
// and delegation, before watching), joins with a proof that it holds the key, plays, acknowledges each tick it saw
// (VoucherLoop), pays the creator as the admission's rules say (Settler: in arrears, or a window ahead), and on leave
// pays the rest and sweeps the remainder back to the wallet. While the page is open it keeps what does not depend on
// the click warm (chain, socket, WebRTC device, hls.js), so "Watch" on a funded session starts at once.

import type { MediaPauseReason } from '@persecond/signaling/protocol';
import type { StreamView } from '../api/streams.ts';
import type { AuthSession } from '../auth/session.svelte.ts';
import { type AssetRef, balanceOf, chainClient } from '../chain/api.ts';
import { DEV_SS58 } from '../chain/devChain.ts';
import type { TxPhase } from '../chain/txPhase.ts';
import { explain, UserFacingError } from '../errors.ts';
import { ViewerPlayback, WebRtcUnavailableError } from '../media/playback.ts';
import { openSignalingSocket, request, type SignalingSocket } from '../signaling/socket.ts';
import { bindViewerEvents } from '../signaling/viewerEvents.ts';
import type { Wallet } from '../wallet/wallet.svelte.ts';
import { type Delegated, isJoinRefusal, type JoinRequest, requestAdmission } from './admission.ts';
import { describeDebt, type OutstandingDebt, repayDebt } from './debtRepayment.ts';
import { FundedSession } from './FundedSession.ts';
import { planFunding, type WalletShortfall, WalletShortfallError, walletShortfall } from './funding.ts';
import { admittedRules, finalOwed, fundingInterval, type SettleRules } from './rules.ts';
import { createSessionKey, newSessionId, restoreSessionKey, type SessionKey } from './sessionKey.ts';
import { findReusable, forgetSession, type StoredSession, saveSession } from './sessionStore.ts';
import { newStoredSession } from './storedSession.ts';
import { delegationMessage } from './voucher.ts';

export type { OutstandingDebt } from './debtRepayment.ts';
export { type WalletShortfall, WalletShortfallError } from './funding.ts';

/** Where the session stands. */
export type WatchPhase =
  | 'idle'
  | 'funding'
  | 'funded'
  | 'joining'
  | 'watching'
  | 'leaving'
  | 'left'
  | 'refused'
  | 'failed';

/** Warn when less than this many seconds of budget are left. */
export const LOW_BUDGET_SECONDS = 30;
/** Joins tried after paying an old debt, `DEBT_CREDIT_RETRY_MS` apart, while the server has not credited it yet. */
const DEBT_CREDIT_ATTEMPTS = 5;
const DEBT_CREDIT_RETRY_MS = 1_500;
/**
 * A session left from an earlier visit is offered again when it still holds at least this much watching (and the
 * node's prepay for the stream, below which it would not admit it).
 */
const REUSE_MIN_SECONDS = 60;

/** `performance.now()` marks of the last fund and watch (not reactive): for benchmarks and tests. */
export interface WatchTimings {
  fundStart?: number;
  funded?: number;
  delegated?: number;
  watchStart?: number;
  admitted?: number;
  playing?: number;
  /** The first settlement of this page landed in a block. */
  firstSettled?: number;
  /** The first tick of this page arrived. */
  firstTick?: number;
}

/** One viewer's sessions on one stream, for one wallet account. */
export class WatchSession {
  phase = $state<WatchPhase>('idle');
  fundingTx = $state<TxPhase>('idle');
  /** A funded session (this visit's or one left from an earlier visit) that "Watch" starts at once. */
  ready = $state<{ budget: bigint; reused: boolean } | undefined>();
  mode = $state<'webrtc' | 'hls' | undefined>();
  connection = $state<'good' | 'reconnecting' | 'lost'>('good');
  mediaPaused = $state(false);
  /** Why media stopped (`voucher-lag`, `settlement-lag`, `voucher-invalid`, `creator-away`), while `mediaPaused`. */
  pauseReason = $state<MediaPauseReason | undefined>();
  paymentRequired = $state(false);
  /** Stable code of the last refusal (BALANCE_INSUFFICIENT, DEBT_OUTSTANDING…), for the action that fixes it. */
  refusal = $state<{ code: string; message: string; details?: Record<string, string> } | undefined>();
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
  admitted = $state<{ rules: SettleRules; viewerMax: bigint } | undefined>();
  /** Test hook: when true, no settlement is sent (to see enforcement at work). */
  settlementsStopped = $state(false);
  readonly timings: WatchTimings = {};
  /** What the server's ledger said at the last leave (`viewer:leave`): metered and settled, planck. Not reactive. */
  readonly final: { owed?: string; settled?: string } = {};

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
  #socket: SignalingSocket | undefined;
  readonly #player: ViewerPlayback;
  #genesis = '';
  #video: HTMLVideoElement | undefined;
  #warming: Promise<void> | undefined;
  #closed = false;

  /** The wallet account this session was made for. */
  readonly account: string | undefined;

  constructor(
    private readonly wallet: Wallet,
    private readonly auth: AuthSession,
    readonly stream: StreamView,
  ) {
    this.account = wallet.selectedAddress;
    this.#player = new ViewerPlayback(() => this.#socket, stream.streamId);
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

  get #asset(): AssetRef {
    return this.stream.asset;
  }

  /**
   * Gets ready for a click on Watch while the page is open: chain connection and crypto, the signed-in socket, the
   * stream's WebRTC device and the hls.js module; offers a funded session left from an earlier visit. Best effort:
   * whatever fails here is done again (and reported) on Watch.
   */
  warmUp(): Promise<void> {
    this.#warming ??= (async () => {
      const work = [
        this.#chainReady().then(() => this.#restoreStored()),
        this.#ensureSocket().then(() => this.#player.loadDevice()),
        import('hls.js'),
      ];
      await Promise.allSettled(work);
    })();
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
      await this.#chainReady();
      const key = createSessionKey(DEV_SS58);
      const { u8aToHex } = await import('@polkadot/util');
      // Stored before any money moves: a closed tab can still recover the budget next visit.
      const stored = newStoredSession({
        sessionId: newSessionId(),
        streamId: this.stream.streamId,
        wallet: account.address,
        creator: this.stream.creator,
        asset: String(this.#asset),
        seedHex: u8aToHex(key.seed),
      });
      await saveSession(stored);
      this.#open(key, stored);
      this.#delegation = undefined;
      this.ready = undefined;
      this.phase = 'funding';
      await this.#fund(budget);
      this.timings.funded = performance.now();
      // The delegation depends on nothing the viewer does later: signed now, so Watch needs no wallet at all.
      const message = delegationMessage({
        genesisHash: this.#genesis,
        streamId: this.stream.streamId,
        sessionId: stored.sessionId,
        sessionAccount: key.address,
        asset: this.#asset,
        budget,
      });
      this.#delegation = { message, signature: await this.wallet.signMessage(message), budget };
      this.timings.delegated = performance.now();
      this.#funded?.remember({
        delegation: { message, signature: this.#delegation.signature, budget: budget.toString() },
      });
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
    this.#video = video;
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
      await this.#fund(amount);
      if (this.refusal?.code === 'BALANCE_INSUFFICIENT' && this.#video) await this.#join('auto');
    } catch (err) {
      this.#fail(err);
    }
  }

  /**
   * Ends the session: `viewer:leave` first (it ends the metering and tells the final owed and settled), then pays
   * what is still owed once the settlement in flight landed, and sweeps the rest of the budget back to the wallet.
   */
  async leave(): Promise<void> {
    if (this.phase === 'left' || this.phase === 'leaving') return;
    const wallet = this.wallet.selectedAddress;
    const funded = this.#funded;
    this.phase = 'leaving';
    this.#stopPlayback();
    try {
      let owed = this.owed;
      if (this.#socket?.connected && this.mode) {
        const final = await request(this.#socket, 'viewer:leave', {});
        Object.assign(this.final, final);
        funded?.settler.credit(BigInt(final.settled));
        const seen = BigInt(funded?.vouchers.seenSeconds ?? 0) * this.price;
        const grace = BigInt((this.stream.rules?.voucherGraceSeconds ?? 0) + 1) * this.price;
        owed = finalOwed({ acknowledged: owed, metered: BigInt(final.owed), seen, grace });
      }
      if (funded && wallet) {
        await funded.settler.finish({
          owed,
          seq: funded.vouchers.lastAckSeq,
          sessionAccount: funded.key.address,
          wallet,
        });
        this.owed = owed;
        if (this.price > 0n) this.watchedSeconds = Number(owed / this.price);
        await forgetSession(funded.sessionId);
      }
      this.ready = undefined;
      this.mode = undefined;
      this.phase = 'left';
    } catch (err) {
      this.#fail(err);
    } finally {
      // The socket stays for the next session; this session's membership ended with viewer:leave.
      this.mediaPaused = false;
      this.paymentRequired = false;
    }
  }

  /**
   * Pays the debt the server reported from the session accounts of earlier sessions this browser still holds keys
   * for (a crashed tab's), sweeps what they hold back to the wallet, and asks to join again.
   */
  async payDebt(): Promise<void> {
    const wallet = this.wallet.selectedAddress;
    const debt = this.debt;
    if (!wallet || !debt || this.payingDebt) return;
    this.payingDebt = true;
    this.problem = undefined;
    try {
      await repayDebt(wallet, debt.amount, this.#funded?.sessionId ?? '');
      this.debt = undefined;
      if (!this.#video || !this.ready) {
        this.phase = this.ready ? 'funded' : 'idle';
        return;
      }
      // The server credits a payment once it sees it in a block: until then it still reports the debt.
      for (let attempt = 1; ; attempt++) {
        await this.#join(this.mode ?? 'auto');
        if (this.refusal?.code !== 'DEBT_OUTSTANDING' || attempt === DEBT_CREDIT_ATTEMPTS) break;
        await sleep(DEBT_CREDIT_RETRY_MS);
      }
    } catch (err) {
      this.problem = `The old payment could not be made: ${explain(err)}`;
    } finally {
      this.payingDebt = false;
    }
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
    this.#stopPlayback();
    this.#socket?.close();
    this.#socket = undefined;
  }

  /** Takes `key` (with its stored record) as this page's session: fresh meter, settler and figures. */
  #open(key: SessionKey, stored: StoredSession): FundedSession {
    const funded = new FundedSession(key, stored, {
      genesisHash: this.#genesis,
      stream: this.stream,
      socket: () => this.#socket,
      budget: () => this.budget,
      stopped: () => this.settlementsStopped,
      acknowledged: (tick) => {
        this.watchedSeconds = tick.watchedSeconds;
        this.owed = BigInt(tick.owed);
        funded.settler.due(this.owed, tick.seq);
      },
      landed: () => {
        this.timings.firstSettled ??= performance.now();
      },
      failed: (err) => {
        this.problem = `A payment to the creator did not go through: ${explain(err)}`;
      },
    });
    this.watchedSeconds = 0;
    this.owed = 0n;
    this.budget = BigInt(stored.budget);
    this.mode = undefined;
    this.#funded = funded;
    return funded;
  }

  async #join(mode: 'auto' | 'webrtc' | 'hls'): Promise<void> {
    const funded = this.#funded;
    const delegation = this.#delegation;
    const video = this.#video;
    if (!funded || !delegation || !video) return;
    this.phase = 'joining';
    const socket = await this.#ensureSocket();
    const admission = await this.#admit(socket, funded, delegation, mode);
    if (!admission) return;
    this.refusal = undefined;
    this.timings.admitted = performance.now();
    const { rules, viewerMax } = admittedRules(admission, this.stream.terms, this.price);
    this.admitted = { rules, viewerMax };
    const { settler, vouchers } = funded;
    settler.follow(rules);
    const standing = admission.session;
    if (vouchers.carryOn(standing)) {
      this.watchedSeconds = standing.watchedSeconds;
      this.owed = BigInt(standing.acknowledged);
    }
    settler.credit(BigInt(standing.settled));
    // Pay-ahead: the first window is paid now; the server serves no second before it sees it.
    const metered = BigInt(standing.owed);
    void settler.prepay(metered > this.owed ? metered : this.owed, standing.seq);
    this.#stopPlayback();
    try {
      this.mode = await this.#player.start(admission, socket, video);
    } catch (err) {
      if (!(err instanceof WebRtcUnavailableError)) throw err;
      if (mode !== 'hls') return this.#join('hls');
      throw new UserFacingError('INTERNAL', 'The video could not be played in this browser.');
    }
    this.timings.playing = performance.now();
    this.phase = 'watching';
    vouchers.start(() => this.#player.sample(this.#video));
  }

  /** Asks to join; a refusal is shown with what to do (undefined then), anything else thrown. */
  async #admit(socket: SignalingSocket, f: FundedSession, delegation: Delegated, mode: JoinRequest['mode']) {
    const { streamId } = this.stream;
    const { key, sessionId, stored } = f;
    try {
      return await requestAdmission(socket, {
        ...{ genesisHash: this.#genesis, streamId, sessionId, key, delegation, mode },
        ...(stored.fundedIn ? { fundedIn: stored.fundedIn } : {}),
      });
    } catch (err) {
      if (!isJoinRefusal(err)) throw err;
      this.refusal = { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) };
      if (err.code === 'DEBT_OUTSTANDING')
        this.debt = await describeDebt(this.wallet.selectedAddress, err.details?.debt, sessionId);
      this.phase = 'refused';
      return undefined;
    }
  }

  async #ensureSocket(): Promise<SignalingSocket> {
    if (this.#socket) return this.#socket;
    const socket = await openSignalingSocket(this.auth.token);
    this.#socket = socket;
    bindViewerEvents(socket, {
      tick: (tick) => {
        this.timings.firstTick ??= performance.now();
        this.#player.tokens.renew(tick.hlsToken);
        this.#funded?.vouchers.onTick(tick);
      },
      tickRefused: (r) => {
        // A voucher for a tick that crossed a leave is refused too: not worth telling once the viewer has left.
        if (this.phase === 'watching') this.problem = UserFacingError.fromCode(r.code).message;
      },
      paymentRequired: () => {
        this.paymentRequired = true;
        const f = this.#funded;
        if (f) void f.settler.urgent(this.owed, f.vouchers.lastAckSeq);
      },
      paymentOk: (p) => {
        this.paymentRequired = false;
        this.#funded?.settler.credit(BigInt(p.settled));
        this.#player.tokens.renew(p.hlsToken);
      },
      mediaPaused: (p) => {
        this.mediaPaused = true;
        this.pauseReason = p.reason;
      },
      mediaResumed: (p) => {
        this.mediaPaused = false;
        this.pauseReason = undefined;
        if (p?.hlsToken) this.#player.tokens.renew(p.hlsToken);
        else void this.#player.tokens.refresh();
      },
      streamEnded: () => void this.leave(),
      disconnected: () => {
        if (this.phase === 'watching') this.connection = 'reconnecting';
      },
      reconnected: () => {
        this.connection = 'good';
        if (this.phase === 'watching') void this.#join(this.mode ?? 'auto').catch((err) => this.#fail(err));
      },
      lost: () => {
        this.connection = 'lost';
      },
    });
    return socket;
  }

  #stopPlayback(): void {
    this.#funded?.vouchers.stop();
    this.#player.stop();
  }

  #clearMessages(): void {
    this.problem = undefined;
    this.refusal = undefined;
    this.debt = undefined;
    this.walletShortfall = undefined;
  }

  async #chainReady(): Promise<void> {
    const client = await chainClient();
    const { cryptoWaitReady } = await import('@polkadot/util-crypto');
    await cryptoWaitReady();
    this.#genesis = client.facts.genesisHash.toLowerCase();
  }

  /** Offers a session of this stream left from an earlier visit, if its account still holds enough to watch. */
  async #restoreStored(): Promise<void> {
    const wallet = this.wallet.selectedAddress;
    if (!wallet || this.#funded || this.#closed) return;
    const asset = this.#asset;
    const found = await findReusable(
      wallet,
      { streamId: this.stream.streamId, asset: String(asset) },
      this.price * BigInt(Math.max(REUSE_MIN_SECONDS, this.stream.rules.minPrepaySeconds)),
      async (s) => (await balanceOf(restoreSessionKey(s.seedHex, DEV_SS58).address, asset)).spendable,
    );
    if (!found?.session.delegation || this.#funded) return;
    const { session: s, held } = found;
    const d = s.delegation;
    if (!d) return;
    const { settler } = this.#open(restoreSessionKey(s.seedHex, DEV_SS58), s);
    this.#delegation = { message: d.message, signature: d.signature, budget: BigInt(d.budget) };
    // What it signed for and saw settled: leaving before watching again still pays what that visit owed.
    this.owed = BigInt(s.acknowledged ?? '0');
    settler.credit(BigInt(s.settled ?? '0'));
    this.ready = { budget: held, reused: true };
    if (this.phase === 'idle' || this.phase === 'left') this.phase = 'funded';
  }

  /** Moves `amount` into the session account (with the fees its settlements need), after checking the wallet can. */
  async #fund(amount: bigint): Promise<void> {
    const f = this.#funded;
    const wallet = this.wallet.selectedAddress;
    if (!f || !wallet) throw new UserFacingError('INTERNAL', 'No session key.');
    const plan = await planFunding({
      asset: this.#asset,
      creator: this.stream.creator,
      streamId: this.stream.streamId,
      sessionId: f.sessionId,
      sessionAccount: f.key.address,
      pricePerSecond: this.price,
      amount,
      secondsPerSettlement: fundingInterval(this.stream.terms),
    });
    const short = await walletShortfall(wallet, this.#asset, amount, plan);
    if (short) throw new WalletShortfallError(short);
    this.fundingTx = 'idle';
    const { blockHash } = await this.wallet.signAndSend(plan.tx, (s) => {
      this.fundingTx = s;
    });
    this.budget += amount;
    const stored = this.#funded?.stored;
    this.#funded?.remember({
      budget: (BigInt(stored?.budget ?? '0') + amount).toString(),
      // The first funding names the session: the server looks for it in this block.
      ...(stored?.fundedIn ? {} : { fundedIn: blockHash as `0x${string}` }),
    });
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
