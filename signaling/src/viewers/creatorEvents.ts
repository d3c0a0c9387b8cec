import { HOST_PARTICIPANT_ID, type Room } from '@persecond/sfu';
import type { Logger } from 'pino';
import type { StreamLifecycleEvent, StreamsModule } from '../streams/StreamsModule.ts';
import type { PaymentEnforcer } from './PaymentEnforcer.ts';
import type { ViewerRegistry } from './ViewerRegistry.ts';
import type { ViewerSession } from './ViewerSession.ts';

/** Final totals of a session, as `viewer:leave` answers them. */
export interface LeaveTotals {
  owed: string;
  settled: string;
  watchedSeconds: number;
}

/**
 * What the room does to the viewers of a stream: producers added (`rtc:newProducers`; the first after an
 * absence resumes media), the creator away (`media:paused {reason: 'creator-away'}`), the stream ended (each session
 * closed at what was metered; totals kept for the `viewer:leave` a client still sends), and the simulcast layer each
 * WebRTC viewer's consumer forwards (`consumer:layers`, to that viewer's socket only).
 */
export class CreatorEvents {
  /** Streams whose creator is away: media stopped for their viewers until the creator publishes again. */
  readonly #away = new Set<string>();
  /** Final totals of sessions closed by their stream's end, by socket id. */
  readonly #ended = new Map<string, Promise<LeaveTotals>>();
  readonly #watched = new WeakSet<Room>();
  readonly #offLifecycle: () => void;

  constructor(
    streams: StreamsModule,
    private readonly registry: ViewerRegistry,
    private readonly enforcer: PaymentEnforcer,
    private readonly finish: (s: ViewerSession) => Promise<LeaveTotals>,
    private readonly log: Logger,
  ) {
    this.#offLifecycle = streams.onLifecycle((event) => this.#onLifecycle(event));
  }

  /** Whether the stream's creator is away (its viewers' media is stopped, not charged). */
  isAway(streamId: string): boolean {
    return this.#away.has(streamId);
  }

  /** Tells the stream's viewers about each producer the creator adds (once per room). */
  watchRoom(room: Room): void {
    if (this.#watched.has(room)) return;
    this.#watched.add(room);
    room.on('newProducer', ({ producerId, kind, participantId }) => {
      // Only the creator's own media brings it back (a guest on stage publishing is not the creator returning).
      const back = participantId === HOST_PARTICIPANT_ID && this.#away.delete(room.streamId);
      for (const s of this.registry.ofStream(room.streamId)) {
        if (!s.socket) continue;
        if (s.mode === 'webrtc' && s.transport) {
          s.socket.emit('rtc:newProducers', { streamId: room.streamId, producers: [{ producerId, kind }] });
        }
        if (back && !s.paused) s.socket.emit('media:resumed', this.enforcer.freshToken(s));
        // The creator's absence is not the viewer's: it is not idle for it.
        if (back) s.lastActiveAt = Date.now();
      }
    });
    room.on('viewerLayers', ({ viewerId, ...layers }) => {
      this.registry.get(viewerId)?.socket?.emit('consumer:layers', layers);
    });
  }

  /** The totals of a session its stream's end closed, for a `viewer:leave` on `socketId` (taken once). */
  takeEnded(socketId: string): Promise<LeaveTotals> | undefined {
    const totals = this.#ended.get(socketId);
    this.#ended.delete(socketId);
    return totals;
  }

  /** Forgets what was kept for a socket that went away. */
  forgetSocket(socketId: string): void {
    this.#ended.delete(socketId);
  }

  /** Stops listening to the streams' lifecycle. */
  close(): void {
    this.#offLifecycle();
    this.#ended.clear();
  }

  async #onLifecycle(event: StreamLifecycleEvent): Promise<void> {
    if (event.type === 'creator-away') {
      this.#away.add(event.streamId);
      for (const s of this.registry.ofStream(event.streamId))
        s.socket?.emit('media:paused', { reason: 'creator-away' });
      return;
    }
    this.#away.delete(event.streamId);
    // Closed at what was metered: seconds without media were never ticked, so nothing is charged for them.
    await Promise.allSettled(
      this.registry.ofStream(event.streamId).map((s) => {
        const socket = s.socket;
        const totals = this.finish(s);
        // Set before finish() settles: a leave racing the end waits for these totals.
        if (socket?.connected) this.#ended.set(socket.id, totals);
        totals.then(
          (t) => this.log.info({ sessionId: s.sessionId, ...t }, 'viewer session closed: the stream ended'),
          (err: unknown) => this.log.warn({ err, sessionId: s.sessionId }, 'could not close a session'),
        );
        return totals;
      }),
    );
  }
}
