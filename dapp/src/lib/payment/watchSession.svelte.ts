// A viewer's paid watch session: funds a session key with the wallet (budget and delegation, before watching), joins,
// plays, acknowledges each tick it saw with a signed voucher, settles in arrears with the session key, and on leave
// pays the rest and sweeps the remainder back to the wallet. While the page is open it keeps what does not depend on
// the click warm (chain, socket, WebRTC device, hls.js), so "Watch" on a funded session starts at once.
import type { Admission, SessionStanding, StreamSummary, Tick } from '@persecond/signaling/protocol';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { Codec } from '@polkadot/types/types';
import type { Device } from 'mediasoup-client/types';
import type { AuthSession } from '../auth/session.svelte.ts';
import { type AssetRef, chainApi, tokenInfo } from '../chain/api.ts';
import { DEV_SS58 } from '../chain/devChain.ts';
import type { TxPhase } from '../chain/txPhase.ts';
import { config } from '../config.ts';
import { explain, UserFacingError } from '../errors.ts';
import { type HlsPlayback, type Playback, playHls, playWebRtc } from '../media/player.ts';
import { loadDevice } from '../media/publisher.ts';
import { openSignalingSocket, request, type SignalingSocket } from '../signaling/socket.ts';
import type { Wallet } from '../wallet/wallet.svelte.ts';
import { type DebtPayment, mayOwe, planDebtPayments } from './debt.ts';
import { WatchMeter } from './meter.ts';
import {
  createSessionKey,
  newSessionId,
  restoreSessionKey,
  type SessionKey,
  sessionKeyPair,
  signWithSessionKey,
} from './sessionKey.ts';
import { forgetSession, type StoredSession, saveSession, sessionsOf } from './sessionStore.ts';
import { buildFinalSettlement, buildFunding, buildSettlement, sendSigned } from './transactions.ts';
import { delegationMessage, voucherMessage } from './voucher.ts';

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

const SAMPLE_MS = 250;
/** Warn when less than this many seconds of budget are left. */
export const LOW_BUDGET_SECONDS = 30;
/** Joins tried after paying an old debt, `DEBT_CREDIT_RETRY_MS` apart, while the server has not credited it yet. */
const DEBT_CREDIT_ATTEMPTS = 5;
const DEBT_CREDIT_RETRY_MS = 1_500;
/** A session left from an earlier visit is offered again when it still holds at least this much watching. */
const REUSE_MIN_SECONDS = 60n;

/** What the wallet lacks to fund a session: amounts in planck of `symbol` (with `decimals`). */
export interface WalletShortfall {
  required: bigint;
  available: bigint;
  symbol: string;
  decimals: number;
}

/** The wallet cannot pay the budget and fees it was asked to fund. */
export class WalletShortfallError extends UserFacingError {
  constructor(readonly shortfall: WalletShortfall) {
    super('BALANCE_INSUFFICIENT', 'Your account does not have enough funds to start watching with this budget.');
    this.name = 'WalletShortfallError';
  }
}

/** A debt from earlier sessions that blocks admission, and whether this browser holds a key that can pay it. */
export interface OutstandingDebt {
  amount: bigint;
  /** Stored sessions of this wallet (other than the current one) whose keys can pay. */
  payableFrom: number;
}

/** `performance.now()` marks of the last fund and watch (not reactive): for the first-frame benchmark. */
export interface WatchTimings {
  fundStart?: number;
  funded?: number;
  delegated?: number;
  watchStart?: number;
  admitted?: number;
  playing?: number;
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
  pauseReason = $state<string | undefined>();
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
  settled = $state(0n);
  pending = $state(0n);
  budget = $state(0n);
  readonly timings: WatchTimings = {};
  /** Test hook: when true, no settlement is sent (to see enforcement at work). */
  settlementsStopped = $state(false);

  readonly remaining = $derived(this.budget - this.owed);
  /** In flight and not yet counted as settled (the server may confirm a settlement before the wallet hears back). */
  readonly pendingShown = $derived.by(() => {
    const unsettled = this.owed > this.settled ? this.owed - this.settled : 0n;
    return this.pending < unsettled ? this.pending : unsettled;
  });
  readonly secondsLeft = $derived(this.price > 0n ? Number(this.remaining / this.price) : Number.POSITIVE_INFINITY);
  readonly lowBudget = $derived(this.phase === 'watching' && this.secondsLeft < LOW_BUDGET_SECONDS);

  #key: SessionKey | undefined;
  #pair: KeyringPair | undefined;
  #sessionId = '';
  #stored: StoredSession | undefined;
  #socket: SignalingSocket | undefined;
  #device: Promise<Device | undefined> | undefined;
  #playback: Playback | undefined;
  #meter: WatchMeter;
  /** The meter has not met the server's standing yet (a session from an earlier visit carries on from it). */
  #meterFresh = true;
  #sampler: ReturnType<typeof setInterval> | undefined;
  #pendingTick: Tick | undefined;
  #lastAckSeq = 0;
  #settling: Promise<void> | undefined;
  #genesis = '';
  #delegation: { message: string; signature: `0x${string}`; budget: bigint } | undefined;
  #video: HTMLVideoElement | undefined;
  #warming: Promise<void> | undefined;
  #closed = false;

  /** The wallet account this session was made for. */
  readonly account: string | undefined;

  constructor(
    private readonly wallet: Wallet,
    private readonly auth: AuthSession,
    readonly stream: StreamSummary,
    private readonly settleEverySeconds = 10,
  ) {
    this.#meter = new WatchMeter(BigInt(stream.pricePerSecond));
    this.account = wallet.selectedAddress;
  }

  /** Price per second in planck. */
  get price(): bigint {
    return BigInt(this.stream.pricePerSecond);
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
        this.#ensureSocket().then(() => this.#loadDevice()),
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
      this.#resetMetering();
      this.#key = createSessionKey(DEV_SS58);
      this.#pair = sessionKeyPair(this.#key, DEV_SS58);
      this.#sessionId = newSessionId();
      this.#delegation = undefined;
      this.ready = undefined;
      const { u8aToHex } = await import('@polkadot/util');
      // Stored before any money moves: a closed tab can still recover the budget next visit.
      this.#stored = {
        sessionId: this.#sessionId,
        streamId: this.stream.streamId,
        wallet: account.address,
        creator: this.stream.creator,
        asset: String(this.#asset),
        seedHex: u8aToHex(this.#key.seed),
        budget: budget.toString(),
        createdAt: Date.now(),
        // Nothing signed for yet: an old debt is never paid from a session that owes nothing.
        acknowledged: '0',
        settled: '0',
      };
      await saveSession(this.#stored);
      this.phase = 'funding';
      await this.#fund(budget);
      this.timings.funded = performance.now();
      this.budget = budget;
      // The delegation depends on nothing the viewer does later: signed now, so Watch needs no wallet at all.
      const message = delegationMessage({
        genesisHash: this.#genesis,
        streamId: this.stream.streamId,
        sessionId: this.#sessionId,
        sessionAccount: this.#key.address,
        asset: this.#asset,
        budget,
      });
      this.#delegation = { message, signature: await this.wallet.signMessage(message), budget };
      this.timings.delegated = performance.now();
      this.#stored = {
        ...this.#stored,
        delegation: { message, signature: this.#delegation.signature, budget: budget.toString() },
      };
      await saveSession(this.#stored);
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
    if (!this.ready || !this.#key || !this.#delegation) {
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
      this.budget += amount;
      if (this.#stored) {
        this.#stored = { ...this.#stored, budget: (BigInt(this.#stored.budget) + amount).toString() };
        await saveSession(this.#stored);
      }
      if (this.refusal?.code === 'BALANCE_INSUFFICIENT' && this.#video) await this.#join('auto');
    } catch (err) {
      this.#fail(err);
    }
  }

  /** Pays what is owed, sweeps the rest of the budget back to the wallet and stops (also for an unwatched budget). */
  async leave(): Promise<void> {
    if (this.phase === 'left' || this.phase === 'leaving') return;
    const wallet = this.wallet.selectedAddress;
    this.phase = 'leaving';
    this.#stopPlayback();
    try {
      // Ends the metering; what is paid is what this viewer acknowledged (seen seconds), never more.
      if (this.#socket?.connected && this.mode) await request(this.#socket, 'viewer:leave', {});
      await this.#settling;
      const owed = this.owed;
      if (this.#key && this.#pair && wallet) {
        const api = await chainApi();
        const tx = await buildFinalSettlement(api, {
          asset: this.#asset,
          creator: this.stream.creator,
          amount: owed > this.settled ? owed - this.settled : 0n,
          streamId: this.stream.streamId,
          sessionId: this.#sessionId,
          seq: this.#lastAckSeq,
          sessionAccount: this.#key.address,
          wallet,
        });
        await sendSigned(api, tx, this.#pair);
        if (owed > this.settled) this.settled = owed;
        await forgetSession(this.#sessionId);
      }
      this.ready = undefined;
      this.#stored = undefined;
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
      const api = await chainApi();
      const stored = (await sessionsOf(wallet)).filter((s) => s.sessionId !== this.#sessionId);
      const held = await Promise.all(
        stored.map((s) => spendableOf(api, s.asset, restoreSessionKey(s.seedHex, DEV_SS58).address)),
      );
      const plan = planDebtPayments(debt.amount, stored, held);
      for (const step of plan) await this.#payFromStored(step, wallet);
      this.debt = undefined;
      if (!this.#video || !this.ready) {
        this.phase = this.ready ? 'funded' : 'idle';
        return;
      }
      // The server credits a payment once it sees it in a block: until then it still reports the debt.
      for (let attempt = 1; ; attempt++) {
        await this.#join(this.mode ?? 'auto');
        if (this.refusal?.code !== 'DEBT_OUTSTANDING' || attempt === DEBT_CREDIT_ATTEMPTS) break;
        await new Promise((r) => setTimeout(r, DEBT_CREDIT_RETRY_MS));
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
    await this.#settling;
    await this.#settle(true);
  }

  /** Stops everything without paying (the stored session key lets the next visit settle). */
  close(): void {
    this.#closed = true;
    this.#stopPlayback();
    this.#socket?.close();
    this.#socket = undefined;
  }

  #clearMessages(): void {
    this.problem = undefined;
    this.refusal = undefined;
    this.debt = undefined;
    this.walletShortfall = undefined;
  }

  #resetMetering(): void {
    this.#meter = new WatchMeter(this.price);
    this.#meterFresh = true;
    this.#pendingTick = undefined;
    this.#lastAckSeq = 0;
    this.watchedSeconds = 0;
    this.owed = 0n;
    this.settled = 0n;
    this.pending = 0n;
    this.budget = 0n;
    this.mode = undefined;
  }

  async #chainReady(): Promise<void> {
    const api = await chainApi();
    const { cryptoWaitReady } = await import('@polkadot/util-crypto');
    await cryptoWaitReady();
    this.#genesis = api.genesisHash.toHex();
  }

  /** The stream's WebRTC device, loaded once (a failure is forgotten so the next join loads it again). */
  #loadDevice(): Promise<Device | undefined> {
    const socket = this.#socket;
    if (!socket) return Promise.resolve(undefined);
    this.#device ??= loadDevice(socket, this.stream.streamId).catch(() => {
      this.#device = undefined;
      return undefined;
    });
    return this.#device;
  }

  /** Offers a session of this stream left from an earlier visit, if its account still holds enough to watch. */
  async #restoreStored(): Promise<void> {
    const wallet = this.wallet.selectedAddress;
    if (!wallet || this.#key || this.#closed) return;
    const api = await chainApi();
    const candidates = (await sessionsOf(wallet)).filter(
      (s) => s.streamId === this.stream.streamId && s.asset === String(this.#asset) && s.delegation,
    );
    for (const s of candidates.reverse()) {
      const held = await spendableOf(api, s.asset, restoreSessionKey(s.seedHex, DEV_SS58).address);
      if (held < this.price * REUSE_MIN_SECONDS || this.#key || !s.delegation) continue;
      this.#key = restoreSessionKey(s.seedHex, DEV_SS58);
      this.#pair = sessionKeyPair(this.#key, DEV_SS58);
      this.#sessionId = s.sessionId;
      this.#stored = s;
      this.#delegation = {
        message: s.delegation.message,
        signature: s.delegation.signature,
        budget: BigInt(s.delegation.budget),
      };
      this.budget = BigInt(s.budget);
      // What it signed for and saw settled: leaving before watching again still pays what that visit owed.
      this.owed = BigInt(s.acknowledged ?? '0');
      this.settled = BigInt(s.settled ?? '0');
      this.ready = { budget: held, reused: true };
      if (this.phase === 'idle' || this.phase === 'left') this.phase = 'funded';
      return;
    }
  }

  async #fund(amount: bigint): Promise<void> {
    if (!this.#key) throw new UserFacingError('INTERNAL', 'No session key.');
    const api = await chainApi();
    const { settlementFee } = await import('../chain/fees.ts');
    const perSettlement = await settlementFee(api, this.#asset, this.stream.creator, this.price, {
      payer: this.#key.address,
      remark: `ps1:pay:${this.stream.streamId}:${this.#sessionId}:${Number.MAX_SAFE_INTEGER}`,
    });
    const settlements = this.price > 0n ? amount / (this.price * BigInt(this.settleEverySeconds)) + 2n : 2n;
    const ed = api.consts.balances.existentialDeposit.toBigInt();
    const nativeForFees = perSettlement * settlements + ed;
    const tx = buildFunding(api, {
      asset: this.#asset,
      sessionAccount: this.#key.address,
      sessionId: this.#sessionId,
      budget: amount,
      // Fees for every settlement the budget allows, plus the final one, and the existential deposit.
      nativeForFees,
    });
    await this.#checkWalletCanFund(tx, amount, nativeForFees);
    this.fundingTx = 'idle';
    await this.wallet.signAndSend(tx, (s) => {
      this.fundingTx = s;
    });
  }

  /** Refuses up front, with what is missing, when the wallet cannot pay the funding (the chain's error says less). */
  async #checkWalletCanFund(tx: ReturnType<typeof buildFunding>, budget: bigint, nativeForFees: bigint): Promise<void> {
    const wallet = this.wallet.selectedAddress;
    if (!wallet) return;
    const api = await chainApi();
    const [{ partialFee }, account] = await Promise.all([tx.paymentInfo(wallet), api.query.system.account(wallet)]);
    const ed = api.consts.balances.existentialDeposit.toBigInt();
    // Older runtimes (this dev chain's too) split `frozen` into `miscFrozen` and `feeFrozen`.
    const data = account.data as unknown as Record<'free' | 'frozen' | 'miscFrozen' | 'feeFrozen', Codec | undefined>;
    const amount = (c: Codec | undefined) => (c ? BigInt(c.toString()) : 0n);
    const free = amount(data.free);
    // transferKeepAlive leaves the existential deposit (and anything frozen) in the wallet.
    const keep = [amount(data.frozen), amount(data.miscFrozen), amount(data.feeFrozen), ed].reduce((a, b) =>
      // biome-ignore lint/complexity/useMathMinMax: bigints, which Math.max does not take
      a > b ? a : b,
    );
    const nativeAvailable = free > keep ? free - keep : 0n;
    const nativeRequired = partialFee.toBigInt() + nativeForFees + (this.#asset === 'native' ? budget : 0n);
    const short = async (asset: AssetRef, required: bigint, available: bigint): Promise<never> => {
      const { symbol, decimals } = await tokenInfo(asset);
      throw new WalletShortfallError({ required, available, symbol, decimals });
    };
    if (this.#asset !== 'native') {
      const held = await api.query.assets.account(this.#asset, wallet);
      const available = held.isSome ? held.unwrap().balance.toBigInt() : 0n;
      if (available < budget) await short(this.#asset, budget, available);
    }
    if (nativeAvailable < nativeRequired) await short('native', nativeRequired, nativeAvailable);
  }

  async #join(mode: 'auto' | 'webrtc' | 'hls'): Promise<void> {
    if (!this.#key || !this.#delegation || !this.#video) return;
    this.phase = 'joining';
    const socket = await this.#ensureSocket();
    const { u8aToHex } = await import('@polkadot/util');
    let admission: Admission;
    try {
      admission = await request(socket, 'viewer:join', {
        streamId: this.stream.streamId,
        mode,
        session: {
          sessionId: this.#sessionId,
          sessionKey: u8aToHex(this.#key.publicKey),
          // The delegated budget (top-ups add funds, not a new delegation).
          budget: this.#delegation.budget.toString(),
          delegation: { message: this.#delegation.message, signature: this.#delegation.signature },
        },
      });
    } catch (err) {
      if (err instanceof UserFacingError && (err.code === 'BALANCE_INSUFFICIENT' || err.code === 'DEBT_OUTSTANDING')) {
        this.refusal = { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) };
        if (err.code === 'DEBT_OUTSTANDING') await this.#describeDebt(err.details?.debt);
        this.phase = 'refused';
        return;
      }
      throw err;
    }
    this.refusal = undefined;
    this.timings.admitted = performance.now();
    this.#carryOn(admission.session);
    this.#stopPlayback();
    if (admission.mode === 'webrtc') {
      try {
        const device = await this.#loadDevice();
        this.#playback = await playWebRtc(socket, this.stream.streamId, this.#video, device);
      } catch {
        // ICE/DTLS failure or no WebRTC: fall back to HLS.
        if (mode !== 'hls') return this.#join('hls');
        throw new UserFacingError('INTERNAL', 'The video could not be played in this browser.');
      }
    } else {
      this.#playback = await playHls(admission.playlistUrl, admission.token, this.#video, config.PUBLIC_SIGNALING_URL, {
        freshToken: () => this.#requestHlsToken(),
      });
    }
    this.timings.playing = performance.now();
    this.mode = this.#playback.mode;
    this.phase = 'watching';
    this.#startSampling();
  }

  /** A session from an earlier visit carries on where the server's ledger stands. */
  #carryOn(standing: SessionStanding): void {
    if (!this.#meterFresh) return;
    this.#meterFresh = false;
    if (!standing.resumed) return;
    const acknowledged = BigInt(standing.acknowledged);
    this.#meter.resumeAt({ seq: standing.seq, watchedSeconds: standing.watchedSeconds, acknowledged });
    this.#lastAckSeq = standing.seq;
    this.watchedSeconds = standing.watchedSeconds;
    this.owed = acknowledged;
    this.settled = BigInt(standing.settled);
  }

  async #describeDebt(amount: string | undefined): Promise<void> {
    const wallet = this.wallet.selectedAddress;
    const stored = wallet ? await sessionsOf(wallet).catch(() => []) : [];
    this.debt = {
      amount: amount ? BigInt(amount) : 0n,
      payableFrom: stored.filter((s) => s.sessionId !== this.#sessionId && mayOwe(s)).length,
    };
  }

  /** Pays one part of an old debt from a stored session's account, and sweeps that account back to the wallet. */
  async #payFromStored(step: DebtPayment, wallet: string): Promise<void> {
    const api = await chainApi();
    const { session: s } = step;
    const key = restoreSessionKey(s.seedHex, DEV_SS58);
    const asset: AssetRef = s.asset === 'native' ? 'native' : Number(s.asset);
    const build = (amount: bigint) =>
      buildFinalSettlement(api, {
        asset,
        creator: s.creator,
        amount,
        streamId: s.streamId,
        sessionId: s.sessionId,
        seq: 0,
        sessionAccount: key.address,
        wallet,
      });
    let tx = await build(step.amount);
    if (asset === 'native') {
      // The account pays this transaction's fee too: a native debt takes what is left after it.
      const fee = (await tx.paymentInfo(key.address)).partialFee.toBigInt();
      const held = await spendableOf(api, 'native', key.address);
      if (step.amount + fee > held) tx = await build(held > fee ? held - fee : 0n);
    }
    await sendSigned(api, tx, sessionKeyPair(key, DEV_SS58));
    await forgetSession(s.sessionId);
  }

  async #ensureSocket(): Promise<SignalingSocket> {
    if (this.#socket) return this.#socket;
    const socket = await openSignalingSocket(this.auth.token);
    this.#socket = socket;
    socket.on('tick', (t) => this.#onTick(t));
    socket.on('tick:refused', (r) => {
      // A voucher for a tick that crossed a leave is refused too: not worth telling once the viewer has left.
      if (this.phase === 'watching') this.problem = UserFacingError.fromCode(r.code).message;
    });
    socket.on('payment:required', () => {
      this.paymentRequired = true;
      void this.#settle(true);
    });
    socket.on('payment:ok', (p) => {
      this.paymentRequired = false;
      const settled = BigInt(p.settled);
      if (settled > this.settled) this.settled = settled;
      this.#renewHlsToken(p.hlsToken);
    });
    socket.on('media:paused', (p) => {
      this.mediaPaused = true;
      this.pauseReason = p.reason;
    });
    socket.on('media:resumed', (p) => {
      this.mediaPaused = false;
      this.pauseReason = undefined;
      if (p?.hlsToken) this.#renewHlsToken(p.hlsToken);
      else void this.#refreshHlsToken();
    });
    socket.on('stream:ended', () => void this.leave());
    socket.on('disconnect', () => {
      if (this.phase === 'watching') this.connection = 'reconnecting';
    });
    socket.io.on('reconnect', () => {
      this.connection = 'good';
      if (this.phase === 'watching') void this.#join(this.mode ?? 'auto').catch((err) => this.#fail(err));
    });
    socket.io.on('reconnect_failed', () => {
      this.connection = 'lost';
    });
    return socket;
  }

  #startSampling(): void {
    clearInterval(this.#sampler);
    this.#sampler = setInterval(async () => {
      const video = this.#video;
      const frames = this.mode === 'webrtc' ? await this.#playback?.framesDecoded() : undefined;
      const buffered = this.mode === 'hls' ? video?.buffered : undefined;
      this.#meter.observe({
        at: Date.now(),
        framesDecoded: frames,
        mediaTime: video?.currentTime,
        bufferedEnd: buffered?.length ? buffered.end(buffered.length - 1) : undefined,
      });
      const waiting = this.#pendingTick;
      if (waiting && !this.#meter.check(waiting)) this.#onTick(waiting);
    }, SAMPLE_MS);
  }

  #stopPlayback(): void {
    clearInterval(this.#sampler);
    this.#sampler = undefined;
    this.#playback?.close();
    this.#playback = undefined;
  }

  #onTick(tick: Tick): void {
    this.#renewHlsToken(tick.hlsToken);
    const refusal = this.#meter.check(tick);
    if (refusal === 'NOT_SEEN') {
      // Not yet seen on screen: acknowledged by the sampler once it is.
      this.#pendingTick = tick;
      return;
    }
    if (refusal || !this.#key || !this.#socket) return;
    this.#pendingTick = undefined;
    this.#meter.acknowledge(tick);
    const owed = BigInt(tick.owed);
    const signature = signWithSessionKey(
      this.#key,
      voucherMessage({
        genesisHash: this.#genesis,
        streamId: this.stream.streamId,
        sessionId: this.#sessionId,
        seq: tick.seq,
        owed,
      }),
    );
    // Kept before it is sent: after a crash, the next visit knows what the server may count (at most this).
    this.#remember({ acknowledged: tick.owed });
    // A notification: the answer comes with the next tick, a refusal as `tick:refused`. Vouchers are cumulative, so
    // one not sent while disconnected is covered by the next (a buffered one would reach the new socket before the
    // rejoin and be refused).
    if (!this.#socket.connected) return;
    this.#socket.emit('tick:ack', { seq: tick.seq, owed: tick.owed, signature });
    this.#lastAckSeq = tick.seq;
    this.watchedSeconds = tick.watchedSeconds;
    this.owed = owed;
    if (owed - this.settled - this.pending >= this.price * BigInt(this.settleEverySeconds)) void this.#settle(false);
  }

  /** Updates the stored session (best effort: it only helps a later visit pay an old debt exactly). */
  #remember(update: Partial<Pick<StoredSession, 'acknowledged' | 'settled'>>): void {
    if (!this.#stored || this.#stored.sessionId !== this.#sessionId) return;
    this.#stored = { ...this.#stored, ...update };
    saveSession(this.#stored).catch(() => undefined);
  }

  #renewHlsToken(token: string | undefined): void {
    if (token && this.#playback?.mode === 'hls') (this.#playback as HlsPlayback).renewToken(token);
  }

  /** A fresh HLS token from the server (`hls:token`), or undefined while payments are behind. */
  async #requestHlsToken(): Promise<string | undefined> {
    if (!this.#socket || this.mode === 'webrtc') return undefined;
    try {
      return (await request(this.#socket, 'hls:token', {})).hlsToken;
    } catch {
      return undefined;
    }
  }

  /**
   * HLS tokens are renewed in answers to vouchers, and no tick (so no voucher) comes while paused: the token may have
   * lapsed by the time payments are current again. Asked for afresh.
   */
  async #refreshHlsToken(): Promise<void> {
    if (this.mode !== 'hls') return;
    this.#renewHlsToken(await this.#requestHlsToken());
  }

  #settle(urgent: boolean): Promise<void> {
    if (this.#settling || this.settlementsStopped || !this.#pair || !this.#socket) return Promise.resolve();
    const amount = this.owed - this.settled - this.pending;
    if (amount <= 0n || (!urgent && amount < this.price)) return Promise.resolve();
    const settling = this.#sendSettlement(amount).finally(() => {
      this.#settling = undefined;
    });
    this.#settling = settling;
    return settling;
  }

  async #sendSettlement(amount: bigint): Promise<void> {
    if (!this.#pair || !this.#socket) return;
    const before = this.settled;
    this.pending += amount;
    try {
      const api = await chainApi();
      const tx = buildSettlement(api, {
        asset: this.#asset,
        creator: this.stream.creator,
        amount,
        streamId: this.stream.streamId,
        sessionId: this.#sessionId,
        seq: this.#lastAckSeq,
      });
      const { txHash } = await sendSigned(api, tx, this.#pair);
      // payment:ok may already have counted it.
      if (this.settled < before + amount) this.settled = before + amount;
      this.#remember({ settled: this.settled.toString() });
      await request(this.#socket, 'settlement:submitted', { txHash });
    } catch (err) {
      this.problem = `A payment to the creator did not go through: ${explain(err)}`;
    } finally {
      this.pending -= amount;
    }
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

/** What a session account holds of `asset` beyond what it must keep (planck). */
async function spendableOf(api: Awaited<ReturnType<typeof chainApi>>, asset: string, address: string): Promise<bigint> {
  if (asset === 'native') {
    const { data } = await api.query.system.account(address);
    const free = data.free.toBigInt();
    const ed = api.consts.balances.existentialDeposit.toBigInt();
    return free > ed ? free - ed : 0n;
  }
  const held = await api.query.assets.account(Number(asset), address);
  return held.isSome ? held.unwrap().balance.toBigInt() : 0n;
}
