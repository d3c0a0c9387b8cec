import type { Logger } from 'pino';
import type { Server, Socket } from 'socket.io';
import { SignalingError } from './errors.ts';
import type { SignalingMetrics } from './metrics.ts';
import {
  type Ack,
  type AckPayloads,
  type ClientEvent,
  type ClientToServerEvents,
  type InterServerEvents,
  type Payload,
  type ServerToClientEvents,
  type SocketData,
  schemas,
} from './protocol.ts';

/** A typed signaling socket. */
export type SignalingSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
/** The typed Socket.IO server. */
export type SignalingIo = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/** Handles one parsed request of an authenticated socket; throws SignalingError for refusals. */
export type RequestHandler<E extends ClientEvent> = (
  socket: SignalingSocket,
  payload: Payload<E>,
) => Promise<AckPayloads[E]>;

/** Handlers by event; events without one are refused. */
export type RequestHandlers = { [E in ClientEvent]?: RequestHandler<E> };

const EVENTS = Object.keys(schemas) as ClientEvent[];

/**
 * Binds every client event of the protocol to its handler: parses the payload with its schema before anything
 * else, requires a signed-in socket, and always answers the ack — never throws into Socket.IO.
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

  private reply(args: unknown[], res: Ack<object>): void {
    const ack = args.at(-1);
    if (!res.ok) this.metrics.refused.inc({ code: res.code });
    if (typeof ack === 'function') (ack as (r: unknown) => void)(res);
  }

  private async dispatch<E extends ClientEvent>(socket: SignalingSocket, event: E, args: unknown[]): Promise<void> {
    if (typeof args.at(-1) !== 'function' || args.length !== 2) {
      this.reply(args, new SignalingError('BAD_REQUEST', `${event} takes one payload and an ack`).toAck());
      return;
    }
    const parsed = schemas[event].safeParse(args[0]);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      this.reply(
        args,
        new SignalingError('BAD_REQUEST', `${first?.path.join('.') || 'payload'}: ${first?.message}`).toAck(),
      );
      return;
    }
    const handler = this.handlers[event] as RequestHandler<E> | undefined;
    if (!socket.data.address || !handler) {
      this.reply(args, new SignalingError('UNAUTHENTICATED', 'sign in with your wallet first').toAck());
      return;
    }
    try {
      const res = await handler(socket, parsed.data as Payload<E>);
      this.reply(args, { ok: true, ...res });
    } catch (err) {
      if (err instanceof SignalingError) this.reply(args, err.toAck());
      else {
        this.log.error({ err, event }, 'request failed');
        this.reply(args, new SignalingError('INTERNAL', 'something went wrong on our side').toAck());
      }
    }
  }
}
