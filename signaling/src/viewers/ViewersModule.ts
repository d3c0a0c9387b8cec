import {
  type Asset,
  type ChainClient,
  ContractsClientError,
  VoucherVerifier,
  verifyDelegation,
} from '@persecond/contracts-client';
import { CapacityFullError, type Room, type TransportParams } from '@persecond/sfu';
import { hexToU8a } from '@polkadot/util';
import { encodeAddress } from '@polkadot/util-crypto';
import { Counter, Gauge, Histogram } from 'prom-client';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { SignalingError } from '../errors.ts';
import { HlsCredit } from '../hlsEdge/HlsCredit.ts';
import { HlsEdgeHooks } from '../hlsEdge/hlsEdgeHooks.ts';
import { LedgerError } from '../ledger/errors.ts';
import type { LedgerSession } from '../ledger/Ledger.ts';
import { ledgerModuleOf } from '../ledger/ledgerModule.ts';
import { persistedTicks } from '../meter/persistedTicks.ts';
import { TickMeter } from '../meter/TickMeter.ts';
import type { Admission, MediaPauseReason, Payload, SessionStanding } from '../protocol.ts';
import type { RequestHandler, RequestHandlers, SignalingSocket } from '../RequestRouter.ts';
import type { SignalingContext, SignalingModule, SignalingModuleFactory } from '../SignalingContext.ts';
import { fromSfu, sfuCall } from '../sfuErrors.ts';
import { getStreamsModule, type StreamLifecycleEvent, streamRoom } from '../streams/StreamsModule.ts';
import { checkPrepay } from './admission.ts';
import { loadViewersConfig, type ViewersConfig } from './config.ts';
import { type PaymentLag, paymentLag } from './paymentStanding.ts';
import { type SignedVoucher, VoucherRounds } from './VoucherRounds.ts';

/** One admitted viewer session on this node (kept through a disconnect for the reconnect grace period). */
interface ViewerEntry {
  readonly sessionId: string;
  readonly streamId: string;
  readonly wallet: string;
  readonly sessionAccount: string;
  readonly asset: Asset;
  readonly price: bigint;
  mode: 'webrtc' | 'hls';
  socket: SignalingSocket | undefined;
  transport: TransportParams | undefined;
  seq: number;
  watchedSeconds: number;
  owed: bigint;
  /** Tick and amount of the newest verified voucher (in the ledger). */
  acknowledgedSeq: number;
  acknowledged: bigint;
  /** Tick of the newest voucher received that matches what was sent (verified in the next round). */
  receivedSeq: number;
  /** The newest verified voucher had a bad signature and no valid one came since. */
  voucherInvalid: boolean;
  /** When the viewer's current HLS token was issued (ms since epoch). */
  tokenIssuedAt: number;
  /** When the newest tick was sent (performance.now()), for the tick → voucher time. */
  tickSentAt: number;
  settled: bigint;
  paused: PaymentLag | undefined;
  /** HLS media delivered and not yet metered. */
  hls: HlsCredit;
  graceTimer: NodeJS.Timeout | undefined;
}

/** A viewer session as other modules and tests see it. */
export interface ViewerSnapshot {
  sessionId: string;
  streamId: string;
  mode: 'webrtc' | 'hls';
  connected: boolean;
  seq: number;
  watchedSeconds: number;
  owed: bigint;
  acknowledged: bigint;
  settled: bigint;
  paused: PaymentLag | undefined;
}

/** The viewers module as other modules see it (`ctx.modules.get('viewers')`). */
export interface ViewersModule extends SignalingModule {
  readonly name: 'viewers';
  /** The node's tick meter (one for every viewer). */
  readonly meter: TickMeter;
  /** A viewer session admitted on this node, if any. */
  viewer(sessionId: string): ViewerSnapshot | undefined;
}

/** `0x` and 64 bytes in hex. */
const ED25519_SIGNATURE_HEX_LENGTH = 130;
/** Buckets of the tick → voucher time (s): fine below 100 ms, where its p99 target lies. */
const TICK_VOUCHER_BUCKETS = [
  0.002, 0.004, 0.006, 0.008, 0.01, 0.0125, 0.015, 0.0175, 0.02, 0.025, 0.03, 0.035, 0.04, 0.045, 0.05, 0.06, 0.07,
  0.08, 0.09, 0.1, 0.125, 0.15, 0.2, 0.3, 0.5, 1, 2, 5,
];
/** `hls:token` requests allowed per socket and window: a player renews about once per token life (~10 s). */
const HLS_TOKEN_RATE_LIMIT = { points: 5, windowSeconds: 10 };

function snapshotOf(e: ViewerEntry): ViewerSnapshot {
  return {
    sessionId: e.sessionId,
    streamId: e.streamId,
    mode: e.mode,
    connected: e.socket !== undefined,
    seq: e.seq,
    watchedSeconds: e.watchedSeconds,
    owed: e.owed,
    acknowledged: e.acknowledged,
    settled: e.settled,
    paused: e.paused,
  };
}

function standingOf(e: ViewerEntry, resumed: boolean): SessionStanding {
  return {
    resumed,
    seq: e.seq,
    watchedSeconds: e.watchedSeconds,
    owed: e.owed.toString(),
    acknowledged: e.acknowledged.toString(),
    settled: e.settled.toString(),
  };
}

/** Ledger refusals as the stable codes clients see. */
function fromLedger(err: unknown): unknown {
  if (!(err instanceof LedgerError)) return err;
  if (err.code === 'VOUCHER_EXCEEDS_OWED') return new SignalingError('VOUCHER_INVALID', err.message);
  if (err.code === 'LEDGER_CLOSED') return new SignalingError('INTERNAL', 'the node is shutting down');
  return new SignalingError('BAD_REQUEST', err.message);
}

function sessionAccountOf(sessionKey: string, ss58: number): string {
  const key = hexToU8a(sessionKey);
  if (key.length !== 32) throw new SignalingError('SIGNATURE_INVALID', 'the session key must be 32 bytes (ed25519)');
  return encodeAddress(key, ss58);
}

/**
 * The viewer flow (docs/ARCHITECTURE.md "Viewer flow"): balance-gated admission (`viewer:join`), WebRTC or HLS
 * placement (`rtc:*` for viewers; token-gated `GET /hls/:streamId/:file` served by the HLS edge child process), one
 * tick meter for every viewer, voucher verification (`tick:ack`), payment enforcement, leave and reconnect. Needs the
 * auth, streams and ledger modules before it. Pass `config` to override the environment.
 */
export function viewersModule(config?: ViewersConfig): SignalingModuleFactory {
  return async (ctx) => createViewersModule(ctx, config ?? loadViewersConfig());
}

async function createViewersModule(ctx: SignalingContext, config: ViewersConfig): Promise<ViewersModule> {
  const log = ctx.log.child({ part: 'viewers' });
  const streams = getStreamsModule(ctx);
  const ledgerModule = ledgerModuleOf(ctx.modules);
  const { ledger } = ledgerModule;
  const verifier = new VoucherVerifier();
  // HLS files are served by the edge child process; tokens are issued here with the key it verifies them with.
  const hlsEdge = await HlsEdgeHooks.start(ctx, config);
  const { tokens } = hlsEdge;
  const windows = {
    voucherGraceSeconds: config.VOUCHER_GRACE_SECONDS,
    settleEverySeconds: config.SETTLE_EVERY_SECONDS,
    paymentGraceSeconds: config.PAYMENT_GRACE_SECONDS,
  };
  const hlsTokenRenewAfterMs = (config.HLS_TOKEN_TTL_SECONDS * 1000) / 2;
  // Handlers of modules created before this one, for requests that are not a viewer's (e.g. a creator's transport).
  const earlier: RequestHandlers = Object.assign({}, ...[...ctx.modules.values()].map((m) => m.handlers ?? {}));

  const registers = [ctx.metrics.registry];
  const metrics = {
    viewers: new Gauge({
      name: 'signaling_viewers',
      help: 'Viewer sessions admitted on this node, by delivery mode',
      labelNames: ['mode'] as const,
      registers,
    }),
    ticks: new Counter({ name: 'signaling_ticks_total', help: 'Ticks sent to viewers', registers }),
    vouchers: new Counter({
      name: 'signaling_vouchers_total',
      help: 'Vouchers by outcome: received (matches the tick), valid/invalid (signature verified in a round)',
      labelNames: ['outcome'] as const,
      registers,
    }),
    pauses: new Counter({
      name: 'signaling_enforcement_pauses_total',
      help: 'Viewers paused by payment enforcement, by reason',
      labelNames: ['reason'] as const,
      registers,
    }),
    ackLag: new Gauge({
      name: 'signaling_voucher_lag_max',
      help: 'Largest number of ticks of any viewer without a voucher received, after the last round',
      registers,
    }),
    tickToVoucher: new Histogram({
      name: 'signaling_tick_voucher_seconds',
      help: 'Time from sending a tick to handling the voucher for it (the tick → ack round trip)',
      buckets: TICK_VOUCHER_BUCKETS,
      registers,
    }),
  };

  // Bound once: the per-ack counter skips the label lookup.
  const vouchersReceived = metrics.vouchers.labels({ outcome: 'received' });
  const tickToVoucher = metrics.tickToVoucher;
  const bySession = new Map<string, ViewerEntry>();
  const bySocket = new Map<string, ViewerEntry>();
  hlsEdge.creditTo((sessionId) => bySession.get(sessionId));
  const joining = new Set<string>();
  const hookedSockets = new WeakSet<SignalingSocket>();
  let closing: Promise<void> | undefined;

  // ---- metering ----

  let flows = new Map<string, Map<string, { flowing: boolean }>>();
  let ticked: ViewerEntry[] = [];
  /** The ledger write of the current round; a session closes only after it (its last tick counts). */
  let writing: Promise<void> = Promise.resolve();

  // A tick reaches the viewer only once the ledger holds it: a crash can lose a second the viewer never heard of
  // (and so never signed for), never one it was charged for.
  const persisted = persistedTicks(
    ledger,
    (sessionId, tick) => {
      const e = bySession.get(sessionId);
      if (!e) return;
      e.seq = tick.seq;
      e.watchedSeconds = tick.watchedSeconds;
      e.owed = tick.owed;
      ticked.push(e);
      metrics.ticks.inc();
      const socket = e.socket;
      if (!socket) return;
      e.tickSentAt = performance.now();
      // The answer to the vouchers so far rides on the tick: no second message per viewer-second.
      const renew = e.mode === 'hls' && !e.paused && Date.now() - e.tokenIssuedAt >= hlsTokenRenewAfterMs;
      socket.emit('tick', {
        seq: tick.seq,
        watchedSeconds: tick.watchedSeconds,
        owed: tick.owed.toString(),
        acknowledged: e.acknowledged.toString(),
        ...(renew ? { hlsToken: issueToken(e) } : {}),
      });
    },
    // The spread stays well within a round, so rounds keep their one-second grid.
    {
      chunk: config.TICK_DELIVERY_CHUNK,
      spreadMs: Math.min(config.TICK_DELIVERY_SPREAD_MS, config.TICK_INTERVAL_MS * 0.4),
    },
  );

  const meter = new TickMeter({
    intervalMs: config.TICK_INTERVAL_MS,
    beforeRound: async () => {
      flows = bySession.size > 0 ? await ctx.sfu.sampleFlow() : new Map();
    },
    onTick: persisted.onTick,
    afterRound: async () => {
      writing = persisted.afterRound().catch((err: unknown) => log.error({ err }, 'could not record a round of ticks'));
      await writing;
      const entries = ticked;
      ticked = [];
      if (entries.length === 0) return;
      let maxLag = 0;
      for (const e of entries) {
        maxLag = Math.max(maxLag, e.seq - e.receivedSeq);
        enforce(e);
      }
      metrics.ackLag.set(maxLag);
    },
    onError: (err, viewerId) => log.warn({ err, viewerId }, 'meter error'),
  });

  const probeOf = (e: ViewerEntry) => (): boolean => {
    if (e.mode === 'webrtc') return flows.get(e.streamId)?.get(e.sessionId)?.flowing === true;
    const room = ctx.sfu.getRoom(e.streamId);
    return room !== undefined && room.hlsRelay !== undefined && room.producing && e.hls.take();
  };

  // ---- enforcement ----

  const roomOf = (e: ViewerEntry): Room | undefined => ctx.sfu.getRoom(e.streamId);

  const pause = (e: ViewerEntry, reason: PaymentLag): void => {
    e.paused = reason;
    meter.pause(e.sessionId);
    hlsEdge.sync(e);
    metrics.pauses.inc({ reason });
    if (e.mode === 'webrtc' && e.transport) {
      roomOf(e)
        ?.pauseViewer(e.sessionId)
        .catch((err: unknown) => log.warn({ err, sessionId: e.sessionId }, 'could not pause a viewer'));
    }
    log.info({ sessionId: e.sessionId, reason, owed: e.owed, settled: e.settled }, 'viewer paused');
    e.socket?.emit('payment:required', { reason, owed: e.owed.toString(), settled: e.settled.toString() });
    e.socket?.emit('media:paused', { reason });
  };

  /** A new HLS token for the viewer (its issue time decides when a tick carries a renewed one). */
  const issueToken = (e: ViewerEntry): string => {
    e.tokenIssuedAt = Date.now();
    return tokens.issue(e.streamId, e.sessionId, e.tokenIssuedAt);
  };

  /** A new HLS token for an HLS viewer whose media resumes: renewals stop while paused, so the last one may be stale. */
  const freshToken = (e: ViewerEntry): { hlsToken?: string } => (e.mode === 'hls' ? { hlsToken: issueToken(e) } : {});

  const resume = (e: ViewerEntry): void => {
    e.paused = undefined;
    if (e.socket) meter.resume(e.sessionId);
    hlsEdge.sync(e);
    if (e.mode === 'webrtc' && e.transport) {
      roomOf(e)
        ?.resumeViewer(e.sessionId)
        .catch((err: unknown) => log.warn({ err, sessionId: e.sessionId }, 'could not resume a viewer'));
    }
    log.info({ sessionId: e.sessionId }, 'viewer resumed');
    const fresh = freshToken(e);
    e.socket?.emit('payment:ok', { settled: e.settled.toString(), ...fresh });
    e.socket?.emit('media:resumed', fresh);
  };

  /** Pauses a viewer that fell behind, resumes one that caught up. */
  const enforce = (e: ViewerEntry): void => {
    if (bySession.get(e.sessionId) !== e) return;
    const lag = paymentLag(
      {
        seq: e.seq,
        acknowledgedSeq: e.receivedSeq,
        owed: e.owed,
        settled: e.settled,
        pricePerSecond: e.price,
        voucherInvalid: e.voucherInvalid,
      },
      windows,
    );
    if (lag && !e.paused) pause(e, lag);
    else if (!lag && e.paused) resume(e);
    // A bad signature is told even to a viewer paused for another reason: resending the same vouchers will not help.
    else if (lag === 'voucher-invalid' && e.paused !== lag) pause(e, lag);
    else if (lag) e.paused = lag;
  };

  // ---- vouchers: cheap checks per ack, signatures verified in rounds (only each session's newest) ----

  // A voucher carries its viewer: a session that just ended (no longer in bySession) still has it verified.
  const rounds = new VoucherRounds<SignedVoucher & { readonly viewer: ViewerEntry }>({
    intervalMs: config.VOUCHER_VERIFY_INTERVAL_MS,
    verify: (sessionId, v) => {
      if (!ctx.chain) return false;
      const { streamId, sessionAccount } = v.viewer;
      const voucher = { genesisHash: ctx.chain.facts.genesisHash, streamId, sessionId, seq: v.seq, owed: v.owed };
      return verifier.isValid(voucher, v.signature, sessionAccount);
    },
    write: (batch) => ledger.recordVouchers(batch),
    onVerified: (sessionId, v, acknowledged) => {
      metrics.vouchers.inc({ outcome: 'valid' });
      const e = bySession.get(sessionId);
      if (!e) return;
      if (v.seq > e.acknowledgedSeq) e.acknowledgedSeq = v.seq;
      if (acknowledged > e.acknowledged) e.acknowledged = acknowledged;
      if (v.seq > e.receivedSeq) e.receivedSeq = v.seq;
      if (e.voucherInvalid) {
        e.voucherInvalid = false;
        enforce(e);
      }
    },
    onInvalid: (sessionId) => {
      metrics.vouchers.inc({ outcome: 'invalid' });
      const e = bySession.get(sessionId);
      if (!e) return;
      // Back to the last verified voucher, and paused until a valid newest one comes.
      e.voucherInvalid = true;
      e.receivedSeq = e.acknowledgedSeq;
      enforce(e);
    },
    onError: (err, sessionId) => log.warn({ err, sessionId }, 'could not record a verified voucher'),
  });

  const unsubscribe = ledgerModule.onSettlement(({ sessionId }) => {
    const e = bySession.get(sessionId);
    if (!e) return;
    ledger.session(sessionId).then(
      (s) => {
        if (!s || bySession.get(sessionId) !== e) return;
        const settled = s.settledPending + s.settledFinal;
        const raised = settled > e.settled;
        e.settled = settled;
        const wasPaused = e.paused;
        enforce(e);
        // A resume already said payment:ok.
        if (raised && !(wasPaused && !e.paused)) e.socket?.emit('payment:ok', { settled: settled.toString() });
      },
      (err: unknown) => log.warn({ err, sessionId }, 'could not read a settled session'),
    );
  });

  // ---- placement and lifecycle ----

  const updateGauge = () => {
    let webrtc = 0;
    for (const e of bySession.values()) if (e.mode === 'webrtc') webrtc++;
    metrics.viewers.set({ mode: 'webrtc' }, webrtc);
    metrics.viewers.set({ mode: 'hls' }, bySession.size - webrtc);
  };

  const leaveRoom = (socket: SignalingSocket, streamId: string): void => {
    // With an adapter, leave() is async; a failure only leaves a stale room membership behind.
    Promise.resolve(socket.leave(streamRoom(streamId))).catch((err: unknown) =>
      log.warn({ err, streamId }, 'could not leave the stream room'),
    );
  };

  /** Takes the viewer's media out of its room (its transport or HLS registration). */
  const unplace = (e: ViewerEntry): void => {
    const room = roomOf(e);
    if (e.mode === 'webrtc') room?.removeViewer(e.sessionId);
    else room?.removeHlsViewer(e.sessionId);
    e.transport = undefined;
    hlsEdge.sync(e);
  };

  /** Detaches a viewer from its socket; the session waits for a reconnect until the grace period ends. */
  const detach = (e: ViewerEntry): void => {
    if (e.socket) {
      bySocket.delete(e.socket.id);
      leaveRoom(e.socket, e.streamId);
    }
    e.socket = undefined;
    meter.pause(e.sessionId);
    unplace(e);
    clearTimeout(e.graceTimer);
    e.graceTimer = setTimeout(() => {
      finish(e).catch((err: unknown) => log.warn({ err, sessionId: e.sessionId }, 'could not close a session'));
    }, config.RECONNECT_GRACE_SECONDS * 1000);
  };

  /** Ends a viewer session on this node: out of the meter and room, closed in the ledger. */
  const finish = async (e: ViewerEntry): Promise<LedgerSession> => {
    if (bySession.get(e.sessionId) === e) bySession.delete(e.sessionId);
    if (e.socket && bySocket.get(e.socket.id) === e) bySocket.delete(e.socket.id);
    if (e.socket) leaveRoom(e.socket, e.streamId);
    e.socket = undefined;
    clearTimeout(e.graceTimer);
    e.graceTimer = undefined;
    meter.remove(e.sessionId);
    unplace(e);
    updateGauge();
    streams
      .adjustViewers(e.streamId, -1)
      .catch((err: unknown) => log.warn({ err, streamId: e.streamId }, 'could not update the viewer count'));
    await writing;
    // Its newest voucher counts: verified and written before the session closes.
    await rounds.flush(e.sessionId);
    return ledger.closeSession(e.sessionId);
  };

  // ---- the creator's side: producers added, creator away, stream ended ----

  /** Streams whose creator is away: media stopped for their viewers until the creator publishes again. */
  const creatorAway = new Set<string>();
  /** Final totals of sessions closed by their stream's end, by socket, for the `viewer:leave` clients still send. */
  const endedTotals = new Map<string, Promise<{ owed: string; settled: string }>>();
  const watchedRooms = new WeakSet<Room>();
  const creatorAwayPause = { reason: 'creator-away' satisfies MediaPauseReason };

  const viewersOf = (streamId: string): ViewerEntry[] => [...bySession.values()].filter((e) => e.streamId === streamId);

  /** Tells the stream's viewers about each producer the creator adds (the first after an absence resumes media). */
  const watchRoom = (room: Room): void => {
    if (watchedRooms.has(room)) return;
    watchedRooms.add(room);
    room.on('newProducer', ({ producerId, kind }) => {
      const back = creatorAway.delete(room.streamId);
      for (const e of viewersOf(room.streamId)) {
        if (!e.socket) continue;
        if (e.mode === 'webrtc' && e.transport) {
          e.socket.emit('rtc:newProducers', { streamId: room.streamId, producers: [{ producerId, kind }] });
        }
        if (back && !e.paused) e.socket.emit('media:resumed', freshToken(e));
      }
    });
  };

  const onLifecycle = async (event: StreamLifecycleEvent): Promise<void> => {
    if (event.type === 'creator-away') {
      creatorAway.add(event.streamId);
      for (const e of viewersOf(event.streamId)) e.socket?.emit('media:paused', creatorAwayPause);
      return;
    }
    creatorAway.delete(event.streamId);
    // Closed at what was metered: seconds without media were never ticked, so nothing is charged for them.
    await Promise.allSettled(
      viewersOf(event.streamId).map((e) => {
        const socket = e.socket;
        const totals = finish(e).then((s) => {
          const settled = s.settledPending + s.settledFinal;
          log.info({ sessionId: e.sessionId, owed: s.owed, settled }, 'viewer session closed: the stream ended');
          return { owed: s.owed.toString(), settled: settled.toString() };
        });
        // Set before finish() settles: a leave racing the end waits for these totals.
        if (socket?.connected) endedTotals.set(socket.id, totals);
        totals.catch((err: unknown) => log.warn({ err, sessionId: e.sessionId }, 'could not close a session'));
        return totals;
      }),
    );
  };
  const offLifecycle = streams.onLifecycle(onLifecycle);

  const hookSocket = (socket: SignalingSocket): void => {
    if (hookedSockets.has(socket)) return;
    hookedSockets.add(socket);
    socket.on('disconnect', () => {
      endedTotals.delete(socket.id);
      const e = bySocket.get(socket.id);
      if (e && e.socket === socket) detach(e);
    });
  };

  const chainOf = (): ChainClient => {
    if (!ctx.chain) throw new SignalingError('CHAIN_UNAVAILABLE', 'this node is not connected to a chain');
    return ctx.chain;
  };

  const viewerOf = (socket: SignalingSocket): ViewerEntry => {
    const e = bySocket.get(socket.id);
    if (!e || e.socket !== socket) throw new SignalingError('BAD_REQUEST', 'join a stream first (viewer:join)');
    return e;
  };

  /**
   * The wallet's acknowledged, unsettled debt in its other sessions, leaving out those watching on this node right
   * now: their arrears are normal (settled in batches) and bounded by enforcement.
   */
  const debtBeyondActive = async (wallet: string, sessionId: string): Promise<bigint> => {
    const watching: string[] = [];
    for (const o of bySession.values()) {
      if (o.socket && o.wallet === wallet && o.sessionId !== sessionId) watching.push(o.sessionId);
    }
    const { debt } = await ledger.debtOf(wallet, { exceptSessionId: sessionId, exceptActive: watching });
    return debt;
  };

  const join = async (socket: SignalingSocket, p: Payload<'viewer:join'>): Promise<Admission> => {
    const chain = chainOf();
    const wallet = socket.data.address as string;
    const { streamId, session } = p;
    if (bySocket.has(socket.id)) throw new SignalingError('BAD_REQUEST', 'this socket already watches a stream');
    const sessionAccount = sessionAccountOf(session.sessionKey, 42);
    let delegation: ReturnType<typeof verifyDelegation>;
    try {
      delegation = verifyDelegation(session.delegation.message, session.delegation.signature, wallet, {
        genesisHash: chain.facts.genesisHash,
        streamId,
        sessionAccount,
      });
    } catch (err) {
      if (err instanceof ContractsClientError) throw new SignalingError('SIGNATURE_INVALID', err.message);
      throw err;
    }
    if (delegation.sessionId !== session.sessionId || delegation.budget !== BigInt(session.budget)) {
      throw new SignalingError('SIGNATURE_INVALID', 'the delegation is for another session or budget');
    }
    const stream = await streams.get(streamId);
    if (!stream || stream.status === 'pending') throw new SignalingError('STREAM_NOT_FOUND', `no stream ${streamId}`);
    if (stream.status !== 'live') {
      throw new SignalingError('STREAM_NOT_LIVE', `stream ${streamId} is not live`, { status: stream.status });
    }
    if (delegation.asset !== stream.asset) {
      throw new SignalingError('SIGNATURE_INVALID', 'the delegation is for another asset than the stream’s');
    }
    const room = ctx.sfu.getRoom(streamId);
    if (!room || room.closed) {
      throw new SignalingError('STREAM_NOT_LIVE', `stream ${streamId} is served by another node`, {
        node: stream.node ?? '',
      });
    }
    watchRoom(room);
    const previous = bySession.get(session.sessionId);
    if (previous && (previous.wallet !== wallet || previous.streamId !== streamId)) {
      throw new SignalingError('BAD_REQUEST', 'this session belongs to another wallet or stream');
    }
    // The chain reads and the ledger's debt query are independent: run them together (a debt is told first).
    const prepaid = checkPrepay(
      chain,
      {
        streamId,
        sessionId: session.sessionId,
        creator: stream.creator,
        wallet,
        sessionAccount,
        asset: stream.asset,
        pricePerSecond: stream.pricePerSecond,
      },
      {
        minPrepaySeconds: config.MIN_PREPAY_SECONDS,
        settleEverySeconds: config.SETTLE_EVERY_SECONDS,
        ...(config.FEE_RESERVE_PLANCK === undefined ? {} : { feeReserve: config.FEE_RESERVE_PLANCK }),
      },
    );
    prepaid.catch(() => undefined);
    const outstanding = await debtBeyondActive(wallet, session.sessionId);
    if (outstanding > 0n) {
      throw new SignalingError('DEBT_OUTSTANDING', 'settle the debt of your earlier sessions first', {
        debt: outstanding.toString(),
      });
    }
    await prepaid;
    const opened = await ledger
      .openSession({
        sessionId: session.sessionId,
        streamId,
        wallet,
        sessionAccount,
        creator: stream.creator,
        asset: stream.asset,
        pricePerSecond: stream.pricePerSecond,
        budget: BigInt(session.budget),
      })
      .catch((err: unknown) => {
        throw fromLedger(err);
      });
    const ls = opened.session;
    if (closing) throw new SignalingError('INTERNAL', 'the node is shutting down');
    // A reconnect carries on from what it signed: its vouchers still waiting for a round are verified now.
    if (bySession.has(session.sessionId)) await rounds.flush(session.sessionId);

    // A reconnect (or a second tab taking over) continues the session kept in memory, else the ledger's.
    const current = bySession.get(session.sessionId);
    if (current?.socket) detach(current);
    const e: ViewerEntry = current ?? {
      sessionId: session.sessionId,
      streamId,
      wallet,
      sessionAccount,
      asset: stream.asset,
      price: stream.pricePerSecond,
      mode: 'webrtc',
      socket: undefined,
      transport: undefined,
      seq: ls.lastSeq,
      watchedSeconds: ls.watchedSeconds,
      owed: ls.owed,
      acknowledgedSeq: ls.acknowledgedSeq,
      acknowledged: ls.acknowledged,
      receivedSeq: ls.acknowledgedSeq,
      voucherInvalid: false,
      tokenIssuedAt: 0,
      tickSentAt: 0,
      settled: ls.settledPending + ls.settledFinal,
      paused: undefined,
      hls: new HlsCredit(),
      graceTimer: undefined,
    };
    clearTimeout(e.graceTimer);
    e.graceTimer = undefined;

    let mode: 'webrtc' | 'hls' = p.mode === 'hls' ? 'hls' : 'webrtc';
    if (mode === 'webrtc') {
      try {
        e.transport = await room.addViewer(e.sessionId);
      } catch (err) {
        if (!(err instanceof CapacityFullError) || p.mode !== 'auto') {
          if (!current) await ledger.closeSession(e.sessionId).catch(() => undefined);
          else detach(e);
          throw fromSfu(err);
        }
        mode = 'hls';
      }
    }
    if (mode === 'hls') {
      try {
        await room.addHlsViewer(e.sessionId);
      } catch (err) {
        if (!current) await ledger.closeSession(e.sessionId).catch(() => undefined);
        else detach(e);
        throw fromSfu(err);
      }
      // Charged for the segments it fetches from now on, not from admission.
      e.hls = new HlsCredit();
    }
    e.mode = mode;
    e.socket = socket;
    hlsEdge.sync(e);
    bySession.set(e.sessionId, e);
    bySocket.set(socket.id, e);
    hookSocket(socket);
    await socket.join(streamRoom(streamId));
    if (!meter.has(e.sessionId)) {
      meter.add(e.sessionId, {
        pricePerSecond: e.price,
        probe: probeOf(e),
        seq: e.seq,
        watchedSeconds: e.watchedSeconds,
        paused: e.paused !== undefined,
      });
    } else if (!e.paused) meter.resume(e.sessionId);
    if (e.paused && mode === 'webrtc') await room.pauseViewer(e.sessionId).catch(() => undefined);
    if (!current) {
      streams
        .adjustViewers(streamId, 1)
        .catch((err: unknown) => log.warn({ err, streamId }, 'could not update the viewer count'));
    }
    updateGauge();
    endedTotals.delete(socket.id);
    if (creatorAway.has(streamId)) socket.emit('media:paused', creatorAwayPause);
    if (!socket.connected) detach(e);
    log.info({ sessionId: e.sessionId, streamId, mode, resumed: opened.resumed }, 'viewer admitted');
    const standing = standingOf(e, opened.resumed);
    if (mode === 'webrtc') return { mode, viewerId: e.sessionId, session: standing };
    return {
      mode,
      viewerId: e.sessionId,
      playlistUrl: hlsEdge.playlistUrl(streamId, socket),
      token: issueToken(e),
      session: standing,
    };
  };

  const joinLimiter = new RateLimiterMemory({
    points: config.JOIN_RATE_LIMIT_MAX,
    duration: config.JOIN_RATE_LIMIT_WINDOW_SECONDS,
  });

  const guardedJoin = async (socket: SignalingSocket, p: Payload<'viewer:join'>): Promise<Admission> => {
    try {
      await joinLimiter.consume(socket.data.address as string);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      throw new SignalingError('RATE_LIMITED', 'too many joins; try again shortly', {
        retryAfterMs: String(err.msBeforeNext),
      });
    }
    const key = p.session.sessionId;
    if (joining.has(key) || joining.has(socket.id)) {
      throw new SignalingError('BAD_REQUEST', 'a join of this session or socket is already in progress');
    }
    joining.add(key);
    joining.add(socket.id);
    try {
      return await join(socket, p);
    } finally {
      joining.delete(key);
      joining.delete(socket.id);
    }
  };

  /**
   * A voucher for a tick: only the cheap checks here (a tick that was sent, exactly its amount, a signature of the
   * right shape); it becomes the session's newest received voucher and its signature is verified in the next round.
   * Answers the verified acknowledged amount (lagging by up to a round).
   */
  const tickAck = async (socket: SignalingSocket, p: Payload<'tick:ack'>) => {
    const e = viewerOf(socket);
    if (p.seq === e.seq && e.tickSentAt > 0) {
      tickToVoucher.observe((performance.now() - e.tickSentAt) / 1000);
      e.tickSentAt = 0;
    }
    const owed = BigInt(p.owed);
    // Each tick adds exactly one price, so the amount a tick stood for follows from its distance to the last one.
    const expected = e.owed - BigInt(e.seq - p.seq) * e.price;
    if (p.seq < 1 || p.seq > e.seq || owed !== expected || p.signature.length !== ED25519_SIGNATURE_HEX_LENGTH) {
      metrics.vouchers.inc({ outcome: 'invalid' });
      throw new SignalingError('VOUCHER_INVALID', `voucher for tick ${p.seq} does not match what was sent`);
    }
    vouchersReceived.inc();
    // Older than the verified one: nothing to gain, unless it may clear a bad signature.
    if (p.seq > e.acknowledgedSeq || e.voucherInvalid) {
      rounds.receive(e.sessionId, { seq: p.seq, owed, signature: p.signature, viewer: e });
      if (p.seq > e.receivedSeq && !e.voucherInvalid) {
        e.receivedSeq = p.seq;
        if (e.paused === 'voucher-lag') enforce(e);
      }
    }
    return { acknowledged: e.acknowledged.toString() };
  };

  const tokenLimiter = new RateLimiterMemory({
    points: HLS_TOKEN_RATE_LIMIT.points,
    duration: HLS_TOKEN_RATE_LIMIT.windowSeconds,
  });

  /** A fresh HLS token on request, for an admitted HLS viewer whose payments are current (rate-limited per socket). */
  const hlsToken = async (socket: SignalingSocket): Promise<{ hlsToken: string }> => {
    const e = viewerOf(socket);
    if (e.mode !== 'hls') throw new SignalingError('BAD_REQUEST', 'this viewer does not watch over HLS');
    try {
      await tokenLimiter.consume(socket.id);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      throw new SignalingError('RATE_LIMITED', 'too many token requests; try again shortly', {
        retryAfterMs: String(err.msBeforeNext),
      });
    }
    if (e.paused) throw new SignalingError('PAYMENT_REQUIRED', 'payments are behind', { reason: e.paused });
    return { hlsToken: issueToken(e) };
  };

  const leave = async (socket: SignalingSocket) => {
    const totals = endedTotals.get(socket.id);
    if (totals && !bySocket.has(socket.id)) {
      endedTotals.delete(socket.id);
      return totals.catch((err: unknown) => {
        throw fromLedger(err);
      });
    }
    const e = viewerOf(socket);
    const s = await finish(e).catch((err: unknown) => {
      throw fromLedger(err);
    });
    log.info({ sessionId: e.sessionId, owed: s.owed, settled: s.settledPending + s.settledFinal }, 'viewer left');
    return { owed: s.owed.toString(), settled: (s.settledPending + s.settledFinal).toString() };
  };

  /** The viewer's room and id for an `rtc:*` request, or undefined when the socket is not a WebRTC viewer. */
  const rtcViewer = (socket: SignalingSocket): { e: ViewerEntry; room: Room } | undefined => {
    const e = bySocket.get(socket.id);
    if (!e || e.socket !== socket || e.mode !== 'webrtc' || !e.transport) return undefined;
    const room = roomOf(e);
    if (!room) throw new SignalingError('STREAM_NOT_LIVE', `stream ${e.streamId} has ended`);
    return { e, room };
  };

  const fallback = <E extends keyof RequestHandlers>(event: E, message: string): NonNullable<RequestHandlers[E]> =>
    (earlier[event] ??
      (async () => {
        throw new SignalingError('BAD_REQUEST', message);
      })) as NonNullable<RequestHandlers[E]>;

  const capabilities = fallback('rtc:capabilities', '');
  const createTransport = fallback('rtc:createTransport', 'join the stream as a viewer first (viewer:join)');
  const connectTransport = fallback('rtc:connectTransport', 'unknown transport');
  const consume = fallback('rtc:consume', 'join the stream as a WebRTC viewer first (viewer:join)');
  const resumeConsumer = fallback('rtc:resume', 'join the stream as a WebRTC viewer first (viewer:join)');

  const handlers: RequestHandlers = {
    'viewer:join': guardedJoin,
    'tick:ack': tickAck,
    'hls:token': hlsToken,
    'viewer:leave': leave,
    'settlement:submitted': async (socket, { txHash }) => {
      const e = viewerOf(socket);
      log.info({ sessionId: e.sessionId, txHash }, 'settlement submitted by the viewer');
      return {};
    },
    'rtc:capabilities': (async (socket, p) => {
      const room = ctx.sfu.getRoom(p.streamId);
      if (room && !room.closed) return { routerRtpCapabilities: room.rtpCapabilities };
      if (earlier['rtc:capabilities']) return capabilities(socket, p);
      throw new SignalingError('STREAM_NOT_LIVE', `stream ${p.streamId} is not live on this node`);
    }) satisfies RequestHandler<'rtc:capabilities'>,
    'rtc:createTransport': (async (socket, p) => {
      if (p.direction === 'send') return createTransport(socket, p);
      const v = rtcViewer(socket);
      if (!v || v.e.streamId !== p.streamId) return createTransport(socket, p);
      return { transport: v.e.transport as TransportParams };
    }) satisfies RequestHandler<'rtc:createTransport'>,
    'rtc:connectTransport': (async (socket, p) => {
      const v = rtcViewer(socket);
      if (!v || v.e.transport?.id !== p.transportId) return connectTransport(socket, p);
      await sfuCall(() => v.room.connectTransport(p.transportId, p.dtlsParameters as never));
      return {};
    }) satisfies RequestHandler<'rtc:connectTransport'>,
    'rtc:consume': (async (socket, p) => {
      const v = rtcViewer(socket);
      if (!v || v.e.transport?.id !== p.transportId) return consume(socket, p);
      const consumers = await sfuCall(() => v.room.consume(v.e.sessionId, p.rtpCapabilities as never));
      return { consumers };
    }) satisfies RequestHandler<'rtc:consume'>,
    'rtc:resume': (async (socket, p) => {
      const v = rtcViewer(socket);
      if (!v) return resumeConsumer(socket, p);
      await sfuCall(() => v.room.resumeConsumer(v.e.sessionId, p.consumerId));
      return {};
    }) satisfies RequestHandler<'rtc:resume'>,
  };

  return {
    name: 'viewers',
    meter,
    handlers,
    viewer: (sessionId) => {
      const e = bySession.get(sessionId);
      return e && snapshotOf(e);
    },
    close() {
      closing ??= (async () => {
        unsubscribe();
        offLifecycle();
        await meter.close();
        await writing;
        // The newest voucher of every session still open is verified and written.
        await rounds.close();
        for (const e of bySession.values()) {
          clearTimeout(e.graceTimer);
          unplace(e);
        }
        await hlsEdge.close();
        bySession.clear();
        bySocket.clear();
        metrics.viewers.reset();
      })();
      return closing;
    },
  };
}
