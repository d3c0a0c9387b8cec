import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { protocolAddress } from '../accounts.ts';
import type { AuthModule } from '../auth/AuthModule.ts';
import type { TipTotalsSource } from '../chat/StreamTipTotals.ts';
import { installErrorHandler, parseInput } from '../http/errors.ts';
import type { Ledger } from '../ledger/Ledger.ts';
import { type StreamEndSummary, StreamId } from '../protocol.ts';
import type { SignalingIo } from '../RequestRouter.ts';
import type { StoredStream } from '../streams/StreamStore.ts';
import type { StreamsModule } from '../streams/StreamsModule.ts';
import { walletRoom } from './streamStats.ts';

const SummaryParams = z.object({ id: StreamId });

/** What the summaries are made of and where they go. */
export interface EndSummaryDeps {
  io: SignalingIo;
  app: FastifyInstance;
  auth: AuthModule;
  streams: StreamsModule;
  ledger: Ledger;
  /** The tip totals `stream:stats` reads (the chat module's, or read from the store each time). */
  tips: () => TipTotalsSource;
}

/**
 * The creator's summary of a stream (`StreamEndSummary`): duration on the server's clock, peak viewers as counted at
 * admissions (the directory), unique viewer wallets and the amounts from the ledger (metered, settled on chain pending
 * and final, not settled yet), tips from the chat's tip store. Served by `GET /v1/streams/:id/summary` (its creator
 * only) and sent as `stream:summary` to the creator's sockets once the stream ended and this node closed its viewers'
 * sessions (subscribed after those are closed: lifecycle listeners run in order).
 */
export class StreamEndSummaries {
  readonly #off: () => void;

  private constructor(private readonly deps: EndSummaryDeps) {
    this.#off = deps.streams.onLifecycle(async (event) => {
      if (event.type !== 'ended') return;
      const stream = await deps.streams.get(event.streamId);
      const creator = stream && protocolAddress(stream.creator);
      if (!stream || !creator) return;
      deps.io.to(walletRoom(creator)).emit('stream:summary', await this.of(stream));
    });
  }

  /** Registers the route and starts sending summaries at stream ends; call after the sessions' own end listener. */
  static async start(deps: EndSummaryDeps): Promise<StreamEndSummaries> {
    const summaries = new StreamEndSummaries(deps);
    await deps.app.register(async (scope: FastifyInstance) => {
      installErrorHandler(scope);
      scope.get('/v1/streams/:id/summary', async (request) => {
        const { id } = parseInput(SummaryParams, request.params);
        const stream = await deps.streams.requireCreator(deps.auth.requireAddress(request), id);
        return { ok: true, summary: await summaries.of(stream) };
      });
    });
    return summaries;
  }

  /** The stream's summary now (while live: so far). */
  async of(stream: StoredStream): Promise<StreamEndSummary> {
    const [totals, tips] = await Promise.all([
      this.deps.ledger.streamEndTotals(stream.streamId),
      this.deps.tips().of(stream.streamId),
    ]);
    const from = stream.liveAt ? Date.parse(stream.liveAt) : undefined;
    const to = stream.endedAt ? Date.parse(stream.endedAt) : Date.now();
    return {
      streamId: stream.streamId,
      ...(stream.liveAt ? { liveAt: stream.liveAt } : {}),
      ...(stream.endedAt ? { endedAt: stream.endedAt } : {}),
      durationSeconds: from === undefined ? 0 : Math.max(0, Math.floor((to - from) / 1000)),
      peakViewers: stream.peakViewers ?? 0,
      uniqueViewers: totals.wallets,
      sessions: totals.sessions,
      openSessions: totals.active,
      earned: totals.owed.toString(),
      settledPending: totals.settledPending.toString(),
      settledFinal: totals.settledFinal.toString(),
      unsettled: totals.unsettled.toString(),
      tips: { pending: tips.pending.toString(), final: tips.final.toString() },
    };
  }

  /** Stops sending summaries at stream ends (the route stays with the server). */
  close(): void {
    this.#off();
  }
}
