// A viewer's paid watch session: funds a session key once with the wallet, joins, plays, acknowledges each tick it
// saw with a signed voucher, settles in arrears with the session key, and on leave pays the rest and sweeps the
// remainder back to the wallet.
import type { Admission, StreamSummary, Tick } from '@persecond/signaling/protocol';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { Codec } from '@polkadot/types/types';
import type { AuthSession } from '../auth/session.svelte.ts';
import { type AssetRef, chainApi, tokenInfo } from '../chain/api.ts';
import { DEV_SS58 } from '../chain/devChain.ts';
import type { TxPhase } from '../chain/txPhase.ts';
import { config } from '../config.ts';
import { explain, UserFacingError } from '../errors.ts';
import { type HlsPlayback, type Playback, playHls, playWebRtc } from '../media/player.ts';
import { openSignalingSocket, request, type SignalingSocket } from '../signaling/socket.ts';
import type { Wallet } from '../wallet/wallet.svelte.ts';
import { WatchMeter } from './meter.ts';
import { createSessionKey, newSessionId, type SessionKey, sessionKeyPair, signWithSessionKey } from './sessionKey.ts';
import { forgetSession, saveSession } from './sessionStore.ts';
import { buildFinalSettlement, buildFunding, buildSettlement, sendSigned } from './transactions.ts';
import { delegationMessage, voucherMessage } from './voucher.ts';

/** Where the session stands. */
export type WatchPhase = 'idle' | 'funding' | 'joining' | 'watching' | 'leaving' | 'left' | 'refused' | 'failed';

const SAMPLE_MS = 250;
/** Warn when less than this many seconds of budget are left. */
export const LOW_BUDGET_SECONDS = 30;

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

/** One viewer session on one stream. */
export class WatchSession {
  phase = $state<WatchPhase>('idle');
  fundingTx = $state<TxPhase>('idle');
  mode = $state<'webrtc' | 'hls' | undefined>();
  connection = $state<'good' | 'reconnecting' | 'lost'>('good');
  mediaPaused = $state(false);
  /** Why media stopped (`voucher-lag`, `settlement-lag`, `creator-away`), while `mediaPaused`. */
  pauseReason = $state<string | undefined>();
  paymentRequired = $state(false);
  /** Stable code of the last refusal (BALANCE_INSUFFICIENT, DEBT_OUTSTANDING…), for the action that fixes it. */
  refusal = $state<{ code: string; message: string; details?: Record<string, string> } | undefined>();
  problem = $state<string | undefined>();
  /** Set when the wallet cannot fund the budget it was asked for (what it has and what it needs). */
  walletShortfall = $state<WalletShortfall | undefined>();
  watchedSeconds = $state(0);
  owed = $state(0n);
  settled = $state(0n);
  pending = $state(0n);
  budget = $state(0n);
  /** `performance.now()` at each step of the last `start()` (not reactive): for the first-frame benchmark. */
  readonly timings: { start?: number; funded?: number; delegated?: number; admitted?: number; playing?: number } = {};
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
  #socket: SignalingSocket | undefined;
  #playback: Playback | undefined;
  #meter: WatchMeter;
  #sampler: ReturnType<typeof setInterval> | undefined;
  #pendingTick: Tick | undefined;
  #lastAckSeq = 0;
  /** The last voucher the server took: sent again after a pause to get a fresh HLS token. */
  #lastVoucher: { seq: number; owed: string; signature: `0x${string}` } | undefined;
  #settling: Promise<void> | undefined;
  #genesis = '';
  #delegation: { message: string; signature: `0x${string}` } | undefined;
  #video: HTMLVideoElement | undefined;

  constructor(
    private readonly wallet: Wallet,
    private readonly auth: AuthSession,
    readonly stream: StreamSummary,
    private readonly settleEverySeconds = 10,
  ) {
    this.#meter = new WatchMeter(BigInt(stream.pricePerSecond));
  }

  /** Price per second in planck. */
  get price(): bigint {
    return BigInt(this.stream.pricePerSecond);
  }

  get #asset(): AssetRef {
    return this.stream.asset;
  }

  /** Funds a new session key with `budget` (one wallet signature), signs the delegation and starts watching. */
  async start(budget: bigint, video: HTMLVideoElement, mode: 'auto' | 'webrtc' | 'hls' = 'auto'): Promise<void> {
    const account = this.wallet.selected;
    if (!account) throw new UserFacingError('WALLET', 'Connect your wallet and pick an account first.');
    this.#video = video;
    this.timings.start = performance.now();
    this.problem = undefined;
    this.refusal = undefined;
    this.walletShortfall = undefined;
    try {
      const api = await chainApi();
      const { cryptoWaitReady } = await import('@polkadot/util-crypto');
      await cryptoWaitReady();
      this.#genesis = api.genesisHash.toHex();
      this.#key = createSessionKey(DEV_SS58);
      this.#pair = sessionKeyPair(this.#key, DEV_SS58);
      this.#sessionId = newSessionId();
      const { u8aToHex } = await import('@polkadot/util');
      await saveSession({
        sessionId: this.#sessionId,
        streamId: this.stream.streamId,
        wallet: account.address,
        creator: this.stream.creator,
        asset: String(this.#asset),
        seedHex: u8aToHex(this.#key.seed),
        budget: budget.toString(),
        createdAt: Date.now(),
      });
      this.phase = 'funding';
      await this.#fund(budget);
      this.timings.funded = performance.now();
      this.budget = budget;
      const message = delegationMessage({
        genesisHash: this.#genesis,
        streamId: this.stream.streamId,
        sessionId: this.#sessionId,
        sessionAccount: this.#key.address,
        asset: this.#asset,
        budget,
      });
      this.#delegation = { message, signature: await this.wallet.signMessage(message) };
      this.timings.delegated = performance.now();
      await this.#join(mode);
    } catch (err) {
      this.#fail(err);
    }
  }

  /** Adds `amount` to the running session's budget (one wallet signature). */
  async topUp(amount: bigint): Promise<void> {
    try {
      await this.#fund(amount);
      this.budget += amount;
      if (this.refusal?.code === 'BALANCE_INSUFFICIENT' && this.#video) await this.#join('auto');
    } catch (err) {
      this.#fail(err);
    }
  }

  /** Pays what is owed, sweeps the rest of the budget back to the wallet and stops. */
  async leave(): Promise<void> {
    if (this.phase === 'left' || this.phase === 'leaving') return;
    const wallet = this.wallet.selectedAddress;
    this.phase = 'leaving';
    this.#stopPlayback();
    try {
      // Ends the metering; what is paid is what this viewer acknowledged (seen seconds), never more.
      if (this.#socket?.connected) await request(this.#socket, 'viewer:leave', {});
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
      this.phase = 'left';
    } catch (err) {
      this.#fail(err);
    } finally {
      this.#socket?.close();
      this.#socket = undefined;
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
    this.#stopPlayback();
    this.#socket?.close();
    this.#socket = undefined;
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
          budget: this.budget.toString(),
          delegation: this.#delegation,
        },
      });
    } catch (err) {
      if (err instanceof UserFacingError && (err.code === 'BALANCE_INSUFFICIENT' || err.code === 'DEBT_OUTSTANDING')) {
        this.refusal = { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) };
        this.phase = 'refused';
        return;
      }
      throw err;
    }
    this.refusal = undefined;
    this.timings.admitted = performance.now();
    this.#stopPlayback();
    if (admission.mode === 'webrtc') {
      try {
        this.#playback = await playWebRtc(socket, this.stream.streamId, this.#video);
      } catch {
        // ICE/DTLS failure or no WebRTC: fall back to HLS.
        if (mode !== 'hls') return this.#join('hls');
        throw new UserFacingError('INTERNAL', 'The video could not be played in this browser.');
      }
    } else {
      this.#playback = await playHls(admission.playlistUrl, admission.token, this.#video, config.PUBLIC_SIGNALING_URL);
    }
    this.timings.playing = performance.now();
    this.mode = this.#playback.mode;
    this.phase = 'watching';
    this.#startSampling();
  }

  async #ensureSocket(): Promise<SignalingSocket> {
    if (this.#socket) return this.#socket;
    const socket = await openSignalingSocket(this.auth.token);
    this.#socket = socket;
    socket.on('tick', (t) => void this.#onTick(t));
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
      if (waiting && !this.#meter.check(waiting)) void this.#onTick(waiting);
    }, SAMPLE_MS);
  }

  #stopPlayback(): void {
    clearInterval(this.#sampler);
    this.#sampler = undefined;
    this.#playback?.close();
    this.#playback = undefined;
  }

  async #onTick(tick: Tick): Promise<void> {
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
    try {
      const voucher = { seq: tick.seq, owed: tick.owed, signature };
      const ack = await request(this.#socket, 'tick:ack', voucher);
      this.#lastVoucher = voucher;
      this.#renewHlsToken(ack.hlsToken);
      this.#lastAckSeq = tick.seq;
      this.watchedSeconds = tick.watchedSeconds;
      this.owed = owed;
      if (owed - this.settled - this.pending >= this.price * BigInt(this.settleEverySeconds)) void this.#settle(false);
    } catch (err) {
      this.problem = explain(err);
    }
  }

  #renewHlsToken(token: string | undefined): void {
    if (token && this.#playback?.mode === 'hls') (this.#playback as HlsPlayback).renewToken(token);
  }

  /**
   * HLS tokens are renewed only in answers to vouchers, and no tick (so no voucher) comes while paused: the token may
   * have lapsed by the time payments are current again. The last voucher, sent again, brings a fresh one.
   */
  async #refreshHlsToken(): Promise<void> {
    const voucher = this.#lastVoucher;
    if (this.mode !== 'hls' || !voucher || !this.#socket) return;
    try {
      const ack = await request(this.#socket, 'tick:ack', voucher);
      this.#renewHlsToken(ack.hlsToken);
    } catch (err) {
      this.problem = explain(err);
    }
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
