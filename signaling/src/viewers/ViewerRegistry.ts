import type { SignalingSocket } from '../RequestRouter.ts';
import type { ViewerSession } from './ViewerSession.ts';

/**
 * Other sessions of `wallet` or `sessionAccount` attached on this node (watching now), by id; both addresses in the
 * protocol's format (`protocolAddress`), as sessions hold them.
 */
export function watchingHere(
  registry: ViewerRegistry,
  wallet: string,
  sessionAccount: string,
  sessionId: string,
): string[] {
  const ids: string[] = [];
  for (const o of registry.all()) {
    // Both in the protocol's address format (admission writes them so): compared as text.
    const mine = o.wallet === wallet || o.sessionAccount === sessionAccount;
    if (o.socket && o.sessionId !== sessionId && mine) ids.push(o.sessionId);
  }
  return ids;
}

/**
 * The viewer sessions of this node, by session id and by the socket they answer on, and the lifecycle lock that keeps
 * join, leave, reconnect and grace expiry of one session from interleaving.
 */
export class ViewerRegistry {
  readonly #bySession = new Map<string, ViewerSession>();
  readonly #bySocket = new Map<string, ViewerSession>();
  readonly #locks = new Map<string, Promise<unknown>>();

  /** Number of sessions on this node. */
  get size(): number {
    return this.#bySession.size;
  }

  /** A session by id. */
  get(sessionId: string): ViewerSession | undefined {
    return this.#bySession.get(sessionId);
  }

  /** The session attached to `socket`, if the socket is still the one it answers on. */
  ofSocket(socket: SignalingSocket): ViewerSession | undefined {
    const s = this.#bySocket.get(socket.id);
    return s && s.socket === socket ? s : undefined;
  }

  /** Whether `socket` has a session attached. */
  hasSocket(socketId: string): boolean {
    return this.#bySocket.has(socketId);
  }

  /** Every session of this node. */
  all(): IterableIterator<ViewerSession> {
    return this.#bySession.values();
  }

  /** The sessions of one stream. */
  ofStream(streamId: string): ViewerSession[] {
    return [...this.#bySession.values()].filter((s) => s.streamId === streamId);
  }

  /** Another session of this node on the same session account (one funded account backs one live session). */
  otherOnAccount(sessionAccount: string, sessionId: string): ViewerSession | undefined {
    for (const s of this.#bySession.values()) {
      if (s.sessionId !== sessionId && s.sessionAccount === sessionAccount) return s;
    }
    return undefined;
  }

  /** Adds a session; it leaves the registry by itself when closed. */
  add(session: ViewerSession): void {
    this.#bySession.set(session.sessionId, session);
    session.once('@close', () => {
      if (this.#bySession.get(session.sessionId) === session) this.#bySession.delete(session.sessionId);
      if (session.socket && this.#bySocket.get(session.socket.id) === session) this.#bySocket.delete(session.socket.id);
    });
  }

  /** Attaches `session` to `socket` (the socket it answers on from now on). */
  attach(session: ViewerSession, socket: SignalingSocket): void {
    session.socket = socket;
    this.#bySocket.set(socket.id, session);
  }

  /** Detaches the session from its socket. */
  detach(session: ViewerSession): void {
    if (session.socket && this.#bySocket.get(session.socket.id) === session) this.#bySocket.delete(session.socket.id);
    session.socket = undefined;
  }

  /**
   * Runs `op` once every earlier lifecycle step of `sessionId` has settled, and before any later one: join, leave,
   * reconnect and grace expiry of one session never interleave.
   */
  serialize<T>(sessionId: string, op: () => Promise<T>): Promise<T> {
    const before = this.#locks.get(sessionId) ?? Promise.resolve();
    const run = before.then(op, op);
    const settled = run.catch(() => undefined);
    this.#locks.set(sessionId, settled);
    void settled.then(() => {
      if (this.#locks.get(sessionId) === settled) this.#locks.delete(sessionId);
    });
    return run;
  }

  /** Forgets every session (they were closed by their owner). */
  clear(): void {
    this.#bySession.clear();
    this.#bySocket.clear();
  }
}
