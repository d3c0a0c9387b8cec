import type { ChainClient } from '@persecond/contracts-client';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { protocolAddress } from '../accounts.ts';
import { getAuthModule } from '../auth/AuthModule.ts';
import type { ChatModule } from '../chat/ChatModule.ts';
import type { TipTotalsSource } from '../chat/StreamTipTotals.ts';
import { TipStore } from '../chat/TipStore.ts';
import { ledgerUnavailable, SignalingError } from '../errors.ts';
import { sessionCapacity } from '../hlsEdge/FetchPolicy.ts';
import { HlsEdgeHooks } from '../hlsEdge/hlsEdgeHooks.ts';
import { isDatabaseUnreachable } from '../ledger/availability.ts';
import { LedgerError } from '../ledger/errors.ts';
import { ledgerModuleOf } from '../ledger/ledgerModule.ts';
import { exposureOf, rulesFor } from '../payments/paymentRules.ts';
import type { TickMeter } from '../payments/TickMeter.ts';
import type { Admission, Payload, ViewerReleaseReason } from '../protocol.ts';
import type { RequestHandlers, SignalingSocket } from '../RequestRouter.ts';
import type { ViewerRtcSource } from '../rtc/RtcModule.ts';
import type { SignalingContext, SignalingModule, SignalingModuleFactory } from '../SignalingContext.ts';
import { getStreamsModule, streamRoom } from '../streams/StreamsModule.ts';
import { checkCanPay, proveJoin } from './admission.ts';
import { loadViewersConfig, type ViewersConfig } from './config.ts';
import { CreatorEvents, type LeaveTotals } from './creatorEvents.ts';
import { StreamEndSummaries } from './endSummary.ts';
import { IdleRelease } from './IdleRelease.ts';
import { LedgerClose } from './ledgerClose.ts';
import { viewerMetrics } from './metrics.ts';
import { PaymentEnforcer } from './PaymentEnforcer.ts';
import { PaymentLoop } from './PaymentLoop.ts';
import { place, unplace } from './placement.ts';
import { removeWallet } from './removal.ts';
import { StreamStatsFeed } from './streamStats.ts';
import { ViewerRegistry, watchingHere } from './ViewerRegistry.ts';
import { ViewerSession, type ViewerSnapshot } from './ViewerSession.ts';

export type { ViewerSnapshot } from './ViewerSession.ts';

/** The viewers module as other modules see it (`ctx.modules.get('viewers')`). */
export interface ViewersModule extends SignalingModule, ViewerRtcSource {
  readonly name: 'viewers';
  /** The node's tick meter (one for every viewer). */
  readonly meter: TickMeter;
  /** A viewer session admitted on this node, if any. */
  viewer(sessionId: string): ViewerSnapshot | undefined;
  /** Whether `wallet` watches `streamId` on this node now (a session on a socket) with its payments current. */
  payingHere(wallet: string, streamId: string): boolean;
  /** Ends `wallet`'s sessions of `streamId` on this node as on leave, telling it `viewer:released`; answers how many. */
  removeWallet(wallet: string, streamId: string, reason: ViewerReleaseReason): Promise<number>;
}

/** `hls:token` requests allowed per socket and window: a player renews about once per token life (~10 s). */
const HLS_TOKEN_RATE_LIMIT = { points: 5, windowSeconds: 10 };

/** Ledger refusals as the stable codes clients see. */
function fromLedger(err: unknown): unknown {
  if (!(err instanceof LedgerError)) return err;
  if (err.code === 'VOUCHER_EXCEEDS_OWED') return new SignalingError('VOUCHER_INVALID', err.message);
  if (err.code === 'LEDGER_CLOSED') return new SignalingError('INTERNAL', 'the node is shutting down');
  if (err.code === 'AMOUNT_OUT_OF_RANGE') return new SignalingError('AMOUNT_OUT_OF_RANGE', err.message);
  if (err.code === 'LEDGER_UNAVAILABLE') return ledgerUnavailable();
  return new SignalingError('BAD_REQUEST', err.message);
}

/**
 * The viewer flow (docs/ARCHITECTURE.md "Viewer flow"): admission (`viewer:join`: who may join, funded on chain, no
 * debt, can prepay), placement (WebRTC or the HLS edge), the payment loop (ticks, vouchers, settlements), enforcement,
 * leave, reconnect and idle release; `stream:stats` to creators. Each session is a `ViewerSession`; its lifecycle
 * steps run one at a time. Needs the auth, streams and ledger modules before it. Pass `config` to override the
 * environment.
 */
export function viewersModule(config?: ViewersConfig): SignalingModuleFactory {
  return async (ctx) => createViewersModule(ctx, config ?? loadViewersConfig());
}

async function createViewersModule(ctx: SignalingContext, config: ViewersConfig): Promise<ViewersModule> {
  const log = ctx.log.child({ part: 'viewers' });
  const streams = getStreamsModule(ctx);
  const ledgerModule = ledgerModuleOf(ctx.modules);
  const { ledger } = ledgerModule;
  // HLS files are served by the edge child process; tokens are issued here with the key it verifies them with.
  const hlsEdge = await HlsEdgeHooks.start(ctx, config);
  const metrics = viewerMetrics(ctx.metrics.registry);
  const registry = new ViewerRegistry();
  hlsEdge.creditTo((sessionId) => registry.get(sessionId));
  const chainOf = (): ChainClient => {
    if (!ctx.chain) throw new SignalingError('CHAIN_UNAVAILABLE', 'this node is not connected to a chain');
    return ctx.chain;
  };
  // The enforcer holds sessions in the loop's meter, and the loop enforces after each round: the meter is reached
  // through the loop, built right after.
  let loop: PaymentLoop | undefined;
  const enforcer = new PaymentEnforcer(
    ctx.sfu,
    { pause: (id) => loop?.meter.pause(id) ?? false, resume: (id) => loop?.meter.resume(id) ?? false },
    hlsEdge,
    metrics,
    log,
    (config.HLS_TOKEN_TTL_SECONDS * 1000) / 2,
  );
  const payments = new PaymentLoop({
    sfu: ctx.sfu,
    chain: () => ctx.chain,
    ledgerModule,
    registry,
    enforcer,
    metrics,
    log,
    config,
  });
  loop = payments;
  const { meter } = payments;
  const ledgerClose = new LedgerClose(ledger, (id, op) => registry.serialize(id, op), log);
  payments.atEachRound(() => ledgerClose.retry());
  const joiningSockets = new Set<string>();
  const hookedSockets = new WeakSet<SignalingSocket>();
  let closing: Promise<void> | undefined;

  const updateGauge = () => {
    let webrtc = 0;
    for (const s of registry.all()) if (s.mode === 'webrtc') webrtc++;
    metrics.viewers.set({ mode: 'webrtc' }, webrtc);
    metrics.viewers.set({ mode: 'hls' }, registry.size - webrtc);
  };

  const leaveRoom = (socket: SignalingSocket, streamId: string): void => {
    // With an adapter, leave() is async; a failure only leaves a stale room membership behind.
    Promise.resolve(socket.leave(streamRoom(streamId))).catch((err: unknown) =>
      log.warn({ err, streamId }, 'could not leave the stream room'),
    );
  };

  /** Ends a session on this node (inside its lifecycle lock): out of the room and meter, charged, closed in the ledger. */
  const finish = async (s: ViewerSession): Promise<LeaveTotals> => {
    const socket = s.socket;
    registry.detach(s);
    if (socket) leaveRoom(socket, s.streamId);
    unplace(ctx.sfu.getRoom(s.streamId), s, hlsEdge);
    // The edge serves nothing more; what it served and has not reported yet is credited before the session closes.
    if (s.mode === 'hls') await hlsEdge.flushDeliveries();
    s.close();
    updateGauge();
    streams
      .adjustViewers(s.streamId, -1)
      .catch((err: unknown) => log.warn({ err, streamId: s.streamId }, 'could not update the viewer count'));
    // Its last tick, its newest voucher and the HLS media it was delivered count before the session closes.
    return ledgerClose.close(s, () => payments.stop(s));
  };

  const creatorEvents = new CreatorEvents(
    streams,
    registry,
    enforcer,
    (s) => registry.serialize(s.sessionId, () => finish(s)),
    log,
  );
  // The chat module (created after this one) keeps the tip totals in memory; a node without it reads them each round.
  const tipStore = new TipStore(ledger);
  const readEachRound: TipTotalsSource = { of: (streamId) => tipStore.totals(streamId), keepOnly: () => undefined };
  const tipTotals = (): TipTotalsSource =>
    (ctx.modules.get('chat') as ChatModule | undefined)?.tipTotals ?? readEachRound;
  const stats = new StreamStatsFeed(
    ctx.io,
    streams,
    ledger,
    registry,
    (streamId) => payments.earningPerSecond(streamId),
    () => ctx.sfu.openStreamIds(),
    tipTotals,
    log,
    (send) => payments.atEachRound(send),
  );

  // After creatorEvents: a stream's summary is made once its sessions here are closed.
  const summaries = await StreamEndSummaries.start({
    io: ctx.io,
    app: ctx.app,
    auth: getAuthModule(ctx),
    streams,
    ledger,
    tips: tipTotals,
  });

  /** Detaches a session from its socket; it waits for a reconnect until the grace period ends. */
  const detach = (s: ViewerSession): void => {
    const socket = s.socket;
    registry.detach(s);
    if (socket) leaveRoom(socket, s.streamId);
    meter.pause(s.sessionId);
    unplace(ctx.sfu.getRoom(s.streamId), s, hlsEdge);
    s.awaitReconnect(config.RECONNECT_GRACE_SECONDS * 1000, () => {
      registry
        .serialize(s.sessionId, async () => {
          if (!s.socket && !s.closed) await finish(s);
        })
        .catch((err: unknown) => log.warn({ err, sessionId: s.sessionId }, 'could not close a session'));
    });
  };

  const hookSocket = (socket: SignalingSocket): void => {
    if (hookedSockets.has(socket)) return;
    hookedSockets.add(socket);
    socket.on('disconnect', () => {
      creatorEvents.forgetSocket(socket.id);
      const s = registry.ofSocket(socket);
      if (!s) return;
      void registry.serialize(s.sessionId, async () => {
        if (s.socket === socket && !s.closed) detach(s);
      });
    });
  };

  const viewerOf = (socket: SignalingSocket): ViewerSession => {
    const s = registry.ofSocket(socket);
    if (!s) throw new SignalingError('BAD_REQUEST', 'join a stream first (viewer:join)');
    return s;
  };

  const join = async (socket: SignalingSocket, p: Payload<'viewer:join'>): Promise<Admission> => {
    if (closing) throw new SignalingError('INTERNAL', 'the node is shutting down');
    const chain = chainOf();
    const { streamId, session } = p;
    if (registry.hasSocket(socket.id)) throw new SignalingError('BAD_REQUEST', 'this socket already watches a stream');
    const proven = await proveJoin(chain, ctx.sfu, await streams.get(streamId), socket, p);
    const { wallet, sessionAccount, stream, room } = proven;
    creatorEvents.watchRoom(room);
    const previous = registry.get(session.sessionId);
    if (previous && (previous.wallet !== wallet || previous.streamId !== streamId)) {
      throw new SignalingError('BAD_REQUEST', 'this session belongs to another wallet or stream');
    }
    const rules = rulesFor(stream.terms, config);
    await checkCanPay(chain, ledgerModule, proven, {
      sessionId: session.sessionId,
      fundedIn: session.fundedIn,
      rules,
      feeReserve: config.FEE_RESERVE_PLANCK,
      watchingHere: watchingHere(registry, wallet, sessionAccount, session.sessionId),
      accountLiveHere: registry.otherOnAccount(sessionAccount, session.sessionId) !== undefined,
    });
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
    // Open again in the ledger: a close left waiting from when the database was away must not close it now.
    ledgerClose.cancel(session.sessionId);
    if (closing) throw new SignalingError('INTERNAL', 'the node is shutting down');
    // A reconnect (or a second tab taking over) continues the session kept in memory, else the ledger's; it carries
    // on from what it signed: its vouchers still waiting for a round are verified now.
    if (previous) await payments.flushVouchers(session.sessionId);
    const s =
      previous ??
      new ViewerSession(
        {
          sessionId: session.sessionId,
          streamId,
          wallet,
          sessionAccount,
          asset: stream.asset,
          price: stream.pricePerSecond,
          rules,
        },
        opened.session,
      );
    if (s.socket) detach(s);
    s.reconnected();
    let mode: 'webrtc' | 'hls';
    try {
      mode = await place(room, s, p.mode);
    } catch (err) {
      if (!previous) await ledger.closeSession(s.sessionId).catch(() => undefined);
      else detach(s);
      throw err;
    }
    s.mode = mode;
    s.lastActiveAt = Date.now();
    if (!previous) registry.add(s);
    registry.attach(s, socket);
    hookSocket(socket);
    hlsEdge.sync(s);
    // The player fetches as soon as it has the answer: the edge must know the session by then.
    if (mode === 'hls') await hlsEdge.caughtUp();
    await socket.join(streamRoom(streamId));
    payments.track(s);
    // Pay-ahead: held at once until the first window lands; a resumed session held before stays held.
    enforcer.enforce(s);
    if (s.paused && mode === 'webrtc') await room.pauseViewer(s.sessionId).catch(() => undefined);
    if (!previous) {
      streams
        .adjustViewers(streamId, 1)
        .catch((err: unknown) => log.warn({ err, streamId }, 'could not update the viewer count'));
    }
    updateGauge();
    creatorEvents.forgetSocket(socket.id);
    if (creatorEvents.isAway(streamId)) socket.emit('media:paused', { reason: 'creator-away' });
    if (!socket.connected) detach(s);
    log.info({ sessionId: s.sessionId, streamId, mode, resumed: opened.resumed }, 'viewer admitted');
    // HLS media is handed out up to the edge's per-session burst before it is metered: part of the creator's worst case.
    const ahead = mode === 'hls' ? sessionCapacity(ctx.sfu.config.hlsSegmentSeconds) : 0;
    const terms = { rules, exposure: exposureOf(rules, s.price, ahead), session: s.standing(opened.resumed) };
    if (mode === 'webrtc') return { mode, viewerId: s.sessionId, ...terms };
    return {
      mode,
      viewerId: s.sessionId,
      playlistUrl: hlsEdge.playlistUrl(streamId, socket),
      token: enforcer.issueToken(s),
      ...terms,
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
    if (joiningSockets.has(socket.id)) {
      throw new SignalingError('BAD_REQUEST', 'a join on this socket is already in progress');
    }
    joiningSockets.add(socket.id);
    try {
      // Joins, leaves, reconnects and grace expiry of one session run one at a time.
      return await registry.serialize(p.session.sessionId, () => join(socket, p));
    } catch (thrown) {
      // Any of the admission's ledger reads may meet the database away: LEDGER_UNAVAILABLE, retryable, not INTERNAL.
      const err = isDatabaseUnreachable(thrown) ? ledgerUnavailable() : thrown;
      if (err instanceof SignalingError) metrics.refusals.inc({ code: err.code });
      throw err;
    } finally {
      joiningSockets.delete(socket.id);
    }
  };

  const tokenLimiter = new RateLimiterMemory({
    points: HLS_TOKEN_RATE_LIMIT.points,
    duration: HLS_TOKEN_RATE_LIMIT.windowSeconds,
  });

  /** A fresh HLS token on request, for an admitted HLS viewer whose payments are current (rate-limited per socket). */
  const hlsToken = async (socket: SignalingSocket): Promise<{ hlsToken: string }> => {
    const s = viewerOf(socket);
    if (s.mode !== 'hls') throw new SignalingError('BAD_REQUEST', 'this viewer does not watch over HLS');
    try {
      await tokenLimiter.consume(socket.id);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      throw new SignalingError('RATE_LIMITED', 'too many token requests; try again shortly', {
        retryAfterMs: String(err.msBeforeNext),
      });
    }
    if (s.paused) throw new SignalingError('PAYMENT_REQUIRED', 'payments are behind', { reason: s.paused });
    return { hlsToken: enforcer.issueToken(s) };
  };

  const leave = async (socket: SignalingSocket): Promise<LeaveTotals> => {
    const ended = creatorEvents.takeEnded(socket.id);
    if (ended && !registry.hasSocket(socket.id)) {
      return ended.catch((err: unknown) => {
        throw fromLedger(err);
      });
    }
    const s = viewerOf(socket);
    const totals = await registry
      .serialize(s.sessionId, async () => {
        // A rejoin on another socket that ran first took the session over: this socket has nothing to leave.
        if (s.socket !== socket || s.closed) throw new SignalingError('BAD_REQUEST', 'join a stream first');
        return finish(s);
      })
      .catch((err: unknown) => {
        throw fromLedger(err);
      });
    log.info({ sessionId: s.sessionId, ...totals }, 'viewer left');
    return totals;
  };

  const idle = new IdleRelease(
    registry,
    (s) => creatorEvents.isAway(s.streamId) || ctx.sfu.getRoom(s.streamId)?.producing !== true,
    finish,
    config.IDLE_RELEASE_SECONDS * 1000,
    metrics,
    log,
  );

  const handlers: RequestHandlers = {
    'viewer:join': guardedJoin,
    'tick:ack': async (socket, p) => payments.acknowledge(viewerOf(socket), p),
    'hls:token': hlsToken,
    'viewer:leave': leave,
    'settlement:submitted': async (socket, { txHash }) => {
      const s = viewerOf(socket);
      log.info({ sessionId: s.sessionId, txHash }, 'settlement submitted by the viewer');
      return {};
    },
  };

  return {
    name: 'viewers',
    meter,
    handlers,
    viewer: (sessionId) => registry.get(sessionId)?.snapshot(),
    payingHere: (wallet, streamId) => {
      const address = protocolAddress(wallet);
      return registry.ofStream(streamId).some((s) => s.wallet === address && s.socket && !s.paused && !s.closed);
    },
    removeWallet: (wallet, streamId, reason) => removeWallet(registry, finish, log, wallet, streamId, reason),
    viewerRtc: (socket) => {
      const s = registry.ofSocket(socket);
      const room = s && ctx.sfu.getRoom(s.streamId);
      if (s?.mode !== 'webrtc' || !s.transport) return undefined;
      if (!room) throw new SignalingError('STREAM_NOT_LIVE', `stream ${s.streamId} has ended`);
      return { sessionId: s.sessionId, streamId: s.streamId, transport: s.transport, room };
    },
    close() {
      closing ??= (async () => {
        idle.close();
        stats.close();
        summaries.close();
        creatorEvents.close();
        // The newest voucher of every session still open is verified and written.
        await payments.close();
        for (const s of registry.all()) unplace(ctx.sfu.getRoom(s.streamId), s, hlsEdge);
        // What the edge served and the meter did not charge yet is charged: the sessions may resume on another node.
        await hlsEdge.flushDeliveries();
        for (const s of registry.all()) {
          await payments
            .chargeUnmetered(s)
            .catch((err: unknown) => log.warn({ err, sessionId: s.sessionId }, 'could not charge HLS credit'));
          s.close();
        }
        await hlsEdge.close();
        registry.clear();
        metrics.viewers.reset();
      })();
      return closing;
    },
  };
}
