import type { Logger } from 'pino';
import { protocolAddress } from '../accounts.ts';
import type { TipTotalsSource } from '../chat/StreamTipTotals.ts';
import type { Ledger } from '../ledger/Ledger.ts';
import type { SignalingIo } from '../RequestRouter.ts';
import type { StreamsModule } from '../streams/StreamsModule.ts';
import type { ViewerRegistry } from './ViewerRegistry.ts';

/** The node-local Socket.IO room of one wallet's sockets (the address in the protocol's format). */
export function walletRoom(address: string): string {
  return `wallet:${address}`;
}

/**
 * `stream:stats` to the creator of each stream watched on this node, once per tick round (a second): viewers watching here, what
 * they earn per second (Σ price of the sessions ticked in the last round), and the stream's totals from the ledger
 * (metered, acknowledged, settled pending / final) and the tips on its chat messages (pending / final, kept in memory
 * by the chat module: no query per round). Sent to every socket of the creator's wallet on this node: each
 * signed-in socket joins its wallet's room when it connects, so a round looks creators up instead of scanning sockets.
 */
export class StreamStatsFeed {
  #running = false;
  #closed = false;

  constructor(
    private readonly io: SignalingIo,
    private readonly streams: StreamsModule,
    private readonly ledger: Ledger,
    private readonly registry: ViewerRegistry,
    private readonly earningPerSecond: (streamId: string) => bigint,
    private readonly roomsHere: () => Iterable<string>,
    private readonly tips: () => TipTotalsSource,
    private readonly log: Logger,
    eachRound: (send: () => void) => void,
  ) {
    // In step with the tick rounds, before their answers are in flight: the ledger query must not hold those.
    eachRound(() => this.#round());
    io.on('connection', (socket) => {
      const address = socket.data.address && protocolAddress(socket.data.address);
      // Socket.IO leaves every room on disconnect.
      if (address) void socket.join(walletRoom(address));
    });
  }

  /** Stops the feed. */
  close(): void {
    this.#closed = true;
  }

  #round(): void {
    // A slow database must not pile rounds up.
    if (this.#running || this.#closed) return;
    this.#running = true;
    this.#send()
      .catch((err: unknown) => this.log.warn({ err }, 'could not send stream stats'))
      .finally(() => {
        this.#running = false;
      });
  }

  async #send(): Promise<void> {
    const viewers = new Map<string, number>();
    for (const s of this.registry.all()) if (s.socket) viewers.set(s.streamId, (viewers.get(s.streamId) ?? 0) + 1);
    const live = new Set(viewers.keys());
    for (const streamId of this.roomsHere()) live.add(streamId);
    const tips = this.tips();
    // Streams reported this round; the others' tip totals are dropped (ended, or no creator's socket here).
    const reported = new Set<string>();
    try {
      for (const streamId of live) if (await this.#report(streamId, viewers, tips)) reported.add(streamId);
    } finally {
      tips.keepOnly(reported);
    }
  }

  /** Sends one stream's stats to its creator's sockets here; false when it is not live or its creator is not here. */
  async #report(streamId: string, viewers: ReadonlyMap<string, number>, tipTotals: TipTotalsSource): Promise<boolean> {
    const stream = await this.streams.get(streamId);
    if (stream?.status !== 'live') return false;
    const creator = protocolAddress(stream.creator);
    if (creator === undefined) return false;
    const room = walletRoom(creator);
    if (!this.io.sockets.adapter.rooms.get(room)?.size) return false;
    const [totals, tips] = await Promise.all([this.ledger.streamTotals(streamId), tipTotals.of(streamId)]);
    const stats = {
      streamId,
      viewers: viewers.get(streamId) ?? 0,
      earningsPerSecond: this.earningPerSecond(streamId).toString(),
      owed: totals.owed.toString(),
      acknowledged: totals.acknowledged.toString(),
      settledPending: totals.settledPending.toString(),
      settledFinal: totals.settledFinal.toString(),
      tips: { pending: tips.pending.toString(), final: tips.final.toString() },
    };
    // This node's numbers (its viewers), so only to the creator's sockets here.
    this.io.local.to(room).emit('stream:stats', stats);
    return true;
  }
}
