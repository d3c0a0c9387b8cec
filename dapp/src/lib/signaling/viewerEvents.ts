// The server events a watching viewer reacts to, bound on its socket with their protocol types (and the socket's own
// connection events), in one place.
import type { ServerToClientEvents } from '@persecond/signaling/protocol';
import type { SignalingSocket } from './socket.ts';

type Handler<E extends keyof ServerToClientEvents> = ServerToClientEvents[E];

/** What a watch session does on each event. */
export interface ViewerEventHandlers {
  tick: Handler<'tick'>;
  tickRefused: Handler<'tick:refused'>;
  paymentRequired: Handler<'payment:required'>;
  paymentOk: Handler<'payment:ok'>;
  mediaPaused: Handler<'media:paused'>;
  mediaResumed: Handler<'media:resumed'>;
  streamEnded: Handler<'stream:ended'>;
  /** The server ended the session (idle, banned, its replay deleted); its figures say what is left to pay. */
  released?: Handler<'viewer:released'>;
  /** The connection dropped (Socket.IO reconnects by itself). */
  disconnected(): void;
  /** The connection is back, on a new socket id. */
  reconnected(): void;
  /** Socket.IO gave up reconnecting. */
  lost(): void;
}

/** Binds `h` on `socket`; returns the function that unbinds them. */
export function bindViewerEvents(socket: SignalingSocket, h: ViewerEventHandlers): () => void {
  const unbind: (() => void)[] = [];
  const on = <E extends keyof ServerToClientEvents>(event: E, fn: ServerToClientEvents[E]): void => {
    // Socket.IO's typed `on` cannot follow a generic event name, hence the widening.
    const s = socket as unknown as { on(e: string, f: unknown): void; off(e: string, f: unknown): void };
    s.on(event, fn);
    unbind.push(() => s.off(event, fn));
  };
  on('tick', h.tick);
  on('tick:refused', h.tickRefused);
  on('payment:required', h.paymentRequired);
  on('payment:ok', h.paymentOk);
  on('media:paused', h.mediaPaused);
  on('media:resumed', h.mediaResumed);
  on('stream:ended', h.streamEnded);
  if (h.released) on('viewer:released', h.released);
  socket.on('disconnect', h.disconnected);
  socket.io.on('reconnect', h.reconnected);
  socket.io.on('reconnect_failed', h.lost);
  unbind.push(
    () => socket.off('disconnect', h.disconnected),
    () => socket.io.off('reconnect', h.reconnected),
    () => socket.io.off('reconnect_failed', h.lost),
  );
  return () => {
    for (const off of unbind.splice(0)) off();
  };
}
