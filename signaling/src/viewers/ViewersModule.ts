import type { ChainClient } from '@persecond/contracts-client';
import type { Room } from '@persecond/sfu';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { protocolAddress } from '../accounts.ts';
import { getAuthModule } from '../auth/AuthModule.ts';
import type { ChatModule } from '../chat/ChatModule.ts';
import type { TipTotalsSource } from '../chat/StreamTipTotals.ts';
import { TipStore } from '../chat/TipStore.ts';
import { chainUnavailable } from '../dependencies/chainDependency.ts';
import { dependencyOf } from '../dependencies/dependencyModule.ts';
import { dependencyRefusal } from '../dependencies/refusals.ts';
import { ledgerUnavailable, SignalingError } from '../errors.ts';
import { sessionCapacity } from '../hlsEdge/FetchPolicy.ts';
import { HlsEdgeHooks } from '../hlsEdge/hlsEdgeHooks.ts';
import { LedgerError } from '../ledger/errors.ts';
import { ledgerModuleOf } from '../ledger/ledgerModule.ts';
import { exposureOf, rulesFor } from '../payments/paymentRules.ts';
import type { TickMeter } from '../payments/TickMeter.ts';
import type { Admission, Payload, ReplayAdmission, ViewerReleaseReason } from '../protocol.ts';
import type { RequestHandlers, SignalingSocket } from '../RequestRouter.ts';
import { ReplayCharging } from '../replays/ReplayCharging.ts';
import { proveReplayJoin, replayCatalogOf } from '../replays/replayAdmission.ts';
import type { ViewerRtcSource } from '../rtc/RtcModule.ts';
import type { SignalingContext, SignalingModule, SignalingModuleFactory } from '../SignalingContext.ts';
import { stageAccessOf } from '../stage/StageModule.ts';
import { getStreamsModule, streamRoom } from '../streams/StreamsModule.ts';
import { checkCanPay, type JoinRequest, type ProvenSession, proveJoin } from './admission.ts';
import { loadViewersConfig, type ViewersConfig } from './config.ts';
import { CreatorEvents, type LeaveTotals } from './creatorEvents.ts';
import { StreamEndSummaries } from './endSummary.ts';
import { IdleRelease } from './IdleRelease.ts';
import { LedgerClose } from './ledgerClose.ts';
import { viewerMetrics } from './metrics.ts';
import { PaymentEnforcer } from './PaymentEnforcer.ts';
import { PaymentLoop } from './PaymentLoop.ts';
import { place, unplace } from './placement.ts';
import { removeReplays, removeWallet } from './removal.ts';
import { StreamStatsFeed } from './streamStats.ts';
import { ViewerRegistry, watchingHere } from './ViewerRegistry.ts';
import { type ViewerMode, ViewerSession, type ViewerSnapshot } from './ViewerSession.ts';

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
  /** Ends the replay sessions of `streamId` on this node as on leave (`viewer:released {reason: 'replay-deleted'}`). */
  removeReplays(streamId: string): Promise<number>;
}

/** What a join asks for: a live stream over WebRTC, HLS or either, or the stream's replay. */
type JoinAsked = Payload<'viewer:join'>['mode'] | 'replay';

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
  // Replay segments are kept in the ledger (by the replays module) before they are charged, once per session.
  const replayCharging = new ReplayCharging(
    (sessionId) => registry.get(sessionId),
    (rows) => replayCatalogOf(ctx.modules).keepWatched(rows),
    ctx.sfu.config.hlsSegmentSeconds,
    log,
  );
  hlsEdge.creditTo(
    (sessionId) => registry.get(sessionId),
    (segments) => replayCharging.deliver(segments),
  );
  const chainAvailability = dependencyOf(ctx.modules, 'chain');
  const chainOf = (): ChainClient => {
    if (!ctx.chain) throw new SignalingError('CHAIN_UNAVAILABLE', 'this node is not connected to a chain');
    // Refused at once rather than when the admission's chain reads fail: retryable, `retryAfterMs`.
    if (chainAvailability && !chainAvailability.available) throw chainUnavailable();
    return ctx.chain;
  };
  // The stage module (created after this one) says who is on a stage as a guest or co-host: not charged, nor idle.
  const onStage = (s: ViewerSession): boolean => stageAccessOf(ctx.modules)?.onStage(s.streamId, s.wallet) === true;
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
    (since) => chainAvailability?.downMsSince(since) ?? 0,
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
    onStage,
  });
  loop = payments;
  const { meter } = payments;
  const ledgerClose = new LedgerClose(ledger, (id, op) => registry.serialize(id, op), log);
  payments.atEachRound(() => ledgerClose.retry());
  const joiningSockets = new Set<string>();
  const hookedSockets = new WeakSet<SignalingSocket>();
  let closing: Promise<void> | undefined;

  const updateGauge = () => {
    const counts: Record<ViewerMode, number> = { webrtc: 0, hls: 0, replay: 0 };
    for (const s of registry.all()) counts[s.mode]++;
    for (const mode of ['webrtc', 'hls', 'replay'] as const) metrics.viewers.set({ mode }, counts[mode]);
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
    if (s.mode !== 'webrtc') await hlsEdge.flushDeliveries();
    if (s.mode === 'replay') await replayCharging.settled();
    s.close();
    updateGauge();
    // A replay session was never counted among the stream's viewers.
    if (s.mode !== 'replay') {
      streams
        .adjustViewers(s.streamId, -1)
        .catch((err: unknown) => log.warn({ err, streamId: s.streamId }, 'could not update the viewer count'));
    }
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

  const join = async (
    socket: SignalingSocket,
    p: JoinRequest,
    asked: JoinAsked,
  ): Promise<Admission | ReplayAdmission> => {
    if (closing) throw new SignalingError('INTERNAL', 'the node is shutting down');
    const chain = chainOf();
    const { streamId, session } = p;
    if (registry.hasSocket(socket.id)) throw new SignalingError('BAD_REQUEST', 'this socket already watches a stream');
    const replay = asked === 'replay';
    // A replay has no room: its media is the recording, served by the edge.
    let room: Room | undefined;
    let proven: ProvenSession;
    if (asked === 'replay') proven = await proveReplayJoin(chain, replayCatalogOf(ctx.modules), socket, p);
    else {
      const live = await proveJoin(chain, ctx.sfu, await streams.get(streamId), socket, { ...p, mode: asked });
      room = live.room;
      proven = live;
      creatorEvents.watchRoom(room);
    }
    const { wallet, sessionAccount, stream } = proven;
    const previous = registry.get(session.sessionId);
    const sameKind = previous && (previous.mode === 'replay') === replay;
    if (previous && (previous.wallet !== wallet || previous.streamId !== streamId || !sameKind)) {
      throw new SignalingError('BAD_REQUEST', 'this session belongs to another wallet or stream, or is not a replay');
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
        kind: replay ? 'replay' : 'live',
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
    // A replay session resumed (after a leave, a restart, on another node) is not charged again for what it was.
    if (!previous && replay && opened.resumed) {
      s.watched.add(await replayCatalogOf(ctx.modules).watchedOf(s.sessionId));
    }
    if (s.socket) detach(s);
    s.reconnected();
    let mode: ViewerMode;
    try {
      mode = asked === 'replay' || !room ? 'replay' : await place(room, s, asked);
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
    if (mode !== 'webrtc') await hlsEdge.caughtUp();
    // A replay is no part of the live room (its end, its creator away, its viewer count).
    if (mode !== 'replay') await socket.join(streamRoom(streamId));
    payments.track(s);
    // Pay-ahead: held at once until the first window lands; a resumed session held before stays held.
    enforcer.enforce(s);
    if (s.paused && mode === 'webrtc') await room?.pauseViewer(s.sessionId).catch(() => undefined);
    if (!previous && mode !== 'replay') {
      streams
        .adjustViewers(streamId, 1)
        .catch((err: unknown) => log.warn({ err, streamId }, 'could not update the viewer count'));
    }
    updateGauge();
    creatorEvents.forgetSocket(socket.id);
    if (mode !== 'replay' && creatorEvents.isAway(streamId)) socket.emit('media:paused', { reason: 'creator-away' });
    if (!socket.connected) detach(s);
    log.info({ sessionId: s.sessionId, streamId, mode, resumed: opened.resumed }, 'viewer admitted');
    // HLS media is handed out up to the edge's per-session burst before it is metered: part of the creator's worst case.
    const ahead = mode === 'webrtc' ? 0 : sessionCapacity(ctx.sfu.config.hlsSegmentSeconds);
    const terms = { rules, exposure: exposureOf(rules, s.price, ahead), session: s.standing(opened.resumed) };
    if (mode === 'webrtc') return { mode, viewerId: s.sessionId, ...terms };
    if (mode === 'replay') {
      const playlistUrl = hlsEdge.replayUrl(streamId, socket);
      return { mode, viewerId: s.sessionId, playlistUrl, token: enforcer.issueToken(s), ...terms };
    }
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

  const guardedJoin = async (
    socket: SignalingSocket,
    p: JoinRequest,
    asked: JoinAsked,
  ): Promise<Admission | ReplayAdmission> => {
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
      return await registry.serialize(p.session.sessionId, () => join(socket, p, asked));
    } catch (thrown) {
      // Any of the admission's reads may meet a dependency away (the ledger's database, the chain node, Redis): a
      // stable, retryable code (LEDGER_UNAVAILABLE, CHAIN_UNAVAILABLE, REDIS_UNAVAILABLE), not INTERNAL.
      const err = thrown instanceof SignalingError ? thrown : (dependencyRefusal(thrown) ?? thrown);
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
    if (s.mode === 'webrtc') throw new SignalingError('BAD_REQUEST', 'this viewer does not watch over HLS');
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
    // A replay viewer may pause as long as it likes: it holds no media resource and pays only for what it fetches.
    (s) =>
      s.mode === 'replay' ||
      creatorEvents.isAway(s.streamId) ||
      ctx.sfu.getRoom(s.streamId)?.producing !== true ||
      onStage(s),
    finish,
    config.IDLE_RELEASE_SECONDS * 1000,
    metrics,
    log,
  );

  const handlers: RequestHandlers = {
    // The mode asked decides the admission's shape: live for `viewer:join`, a replay for `replay:join`.
    'viewer:join': async (socket, p) => (await guardedJoin(socket, p, p.mode)) as Admission,
    'replay:join': async (socket, p) => (await guardedJoin(socket, p, 'replay')) as ReplayAdmission,
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
    removeReplays: (streamId) => removeReplays(registry, finish, log, streamId),
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
        await replayCharging.settled();
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
