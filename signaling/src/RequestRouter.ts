import type { Logger } from 'pino';
import type { Server, Socket } from 'socket.io';
import { dependencyRefusal } from './dependencies/refusals.ts';
import { SignalingError } from './errors.ts';
import type { SignalingMetrics } from './metrics.ts';
import {
  type Ack,
  type AckPayloads,
  type ClientEvent,
  type ClientToServerEvents,
  type InterServerEvents,
  NOTIFICATIONS,
  type Payload,
  PUBLIC_EVENTS,
  type ServerToClientEvents,
  type SocketData,
  schemas,
} from './protocol.ts';

/** A typed signaling socket. */
export type SignalingSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
/** The typed Socket.IO server. */
export type SignalingIo = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/**
 * Handles one parsed request of an authenticated socket (or of any socket, for PUBLIC_EVENTS); throws SignalingError
 * for refusals.
 */
export type RequestHandler<E extends ClientEvent> = (
  socket: SignalingSocket,
  payload: Payload<E>,
) => Promise<AckPayloads[E]>;

/** Handlers by event; events without one are refused. */
export type RequestHandlers = { [E in ClientEvent]?: RequestHandler<E> };

const EVENTS = Object.keys(schemas) as ClientEvent[];
const NOTIFIED = NOTIFICATIONS as Partial<Record<ClientEvent, 'tick:refused'>>;
const PUBLIC = new Set<ClientEvent>(PUBLIC_EVENTS);

/** The payload's `seq`, when it has a usable one (a refusal names the tick it was about). */
function seqOf(payload: unknown): number | undefined {
  const seq = (payload as { seq?: unknown } | null | undefined)?.seq;
  return Number.isSafeInteger(seq) ? (seq as number) : undefined;
}

/**
 * Binds every client event of the protocol to its handler: parses the payload with its schema before anything
 * else, requires a signed-in socket (except for PUBLIC_EVENTS), and always answers the ack — never throws into
 * Socket.IO. A notification (NOTIFICATIONS) sent without an ack is answered only when refused, with its refusal event.
 */
export class RequestRouter {
  constructor(
    private readonly handlers: RequestHandlers,
    private readonly metrics: SignalingMetrics,
    private readonly log: Logger,
  ) {}

  /** Attaches the router to every new connection of `io`. */
  attach(io: SignalingIo): void {
    io.on('connection', (socket) => {
      for (const event of EVENTS) {
        socket.on(event, (...args: unknown[]) => void this.dispatch(socket, event, args));
      }
      socket.onAny((event: unknown, ...args: unknown[]) => {
        if (typeof event === 'string' && (EVENTS as string[]).includes(event)) return;
        this.reply(args, new SignalingError('BAD_REQUEST', 'unknown event').toAck());
      });
    });
  }

  private reply(args: unknown[], res: Ack<object>, socket?: SignalingSocket, event?: ClientEvent): void {
    const ack = args.at(-1);
    if (!res.ok) this.metrics.refused.inc({ code: res.code });
    if (typeof ack === 'function') (ack as (r: unknown) => void)(res);
    else if (!res.ok && socket && event && NOTIFIED[event]) {
      const seq = seqOf(args[0]);
      socket.emit(NOTIFIED[event], { ...(seq === undefined ? {} : { seq }), code: res.code, message: res.message });
    }
  }

  private async dispatch<E extends ClientEvent>(socket: SignalingSocket, event: E, args: unknown[]): Promise<void> {
    const withAck = typeof args.at(-1) === 'function';
    if (withAck ? args.length !== 2 : args.length !== 1 || !NOTIFIED[event]) {
      this.reply(
        args,
        new SignalingError('BAD_REQUEST', `${event} takes one payload and an ack`).toAck(),
        socket,
        event,
      );
      return;
    }
    const parsed = schemas[event].safeParse(args[0]);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      this.reply(
        args,
        new SignalingError('BAD_REQUEST', `${first?.path.join('.') || 'payload'}: ${first?.message}`).toAck(),
        socket,
        event,
      );
      return;
    }
    const handler = this.handlers[event] as RequestHandler<E> | undefined;
    if (!socket.data.address && !PUBLIC.has(event)) {
      this.reply(args, new SignalingError('UNAUTHENTICATED', 'sign in with your wallet first').toAck(), socket, event);
      return;
    }
    if (!handler) {
      this.reply(args, new SignalingError('BAD_REQUEST', `${event} is not served by this node`).toAck(), socket, event);
      return;
    }
    try {
      const res = await handler(socket, parsed.data as Payload<E>);
      if (withAck) this.reply(args, { ok: true, ...res });
    } catch (err) {
      const refusal = err instanceof SignalingError ? err : dependencyRefusal(err);
      if (refusal) this.reply(args, refusal.toAck(), socket, event);
      else {
        this.log.error({ err, event }, 'request failed');
        this.reply(args, new SignalingError('INTERNAL', 'something went wrong on our side').toAck(), socket, event);
      }
    }
  }
}
