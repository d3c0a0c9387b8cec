import type { Logger } from 'pino';
import { protocolAddress } from '../accounts.ts';
import { TipStore } from '../chat/TipStore.ts';
import type { Ledger } from '../ledger/Ledger.ts';
import type { SignalingIo } from '../RequestRouter.ts';
import type { StreamsModule } from '../streams/StreamsModule.ts';
import type { ViewerRegistry } from './ViewerRegistry.ts';

/** The node-local Socket.IO room of one wallet's sockets (the address in the protocol's format). */
function walletRoom(address: string): string {
  return `wallet:${address}`;
}

/**
 * `stream:stats` to the creator of each stream watched on this node, once per tick round (a second): viewers watching here, what
 * they earn per second (Σ price of the sessions ticked in the last round), and the stream's totals from the ledger
 * (metered, acknowledged, settled pending / final) and the tips on its chat messages (pending / final, one query on
 * the tipped messages' index). Sent to every socket of the creator's wallet on this node: each
 * signed-in socket joins its wallet's room when it connects, so a round looks creators up instead of scanning sockets.
 */
export class StreamStatsFeed {
  #running = false;
  #closed = false;
  readonly #tips: TipStore;

  constructor(
    private readonly io: SignalingIo,
    private readonly streams: StreamsModule,
    private readonly ledger: Ledger,
    private readonly registry: ViewerRegistry,
    private readonly earningPerSecond: (streamId: string) => bigint,
    private readonly roomsHere: () => Iterable<string>,
    private readonly log: Logger,
    eachRound: (send: () => void) => void,
  ) {
    this.#tips = new TipStore(ledger);
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
    if (live.size === 0) return;
    for (const streamId of live) {
      const stream = await this.streams.get(streamId);
      if (stream?.status !== 'live') continue;
      const creator = protocolAddress(stream.creator);
      if (creator === undefined) continue;
      const room = walletRoom(creator);
      if (!this.io.sockets.adapter.rooms.get(room)?.size) continue;
      const [totals, tips] = await Promise.all([this.ledger.streamTotals(streamId), this.#tips.totals(streamId)]);
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
    }
  }
}
