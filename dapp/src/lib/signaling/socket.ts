// The typed Socket.IO connection to the signaling server: each request resolves with its ack's payload or
// throws a UserFacingError carrying the stable code.
import type {
  AckPayloads,
  ClientEvent,
  ClientToServerEvents,
  Payload,
  ServerToClientEvents,
} from '@persecond/signaling/protocol';
import type { Socket } from 'socket.io-client';
import { config } from '../config.ts';
import { isErrorCode, UserFacingError } from '../errors.ts';

/** A typed signaling socket. */
export type SignalingSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

const REQUEST_TIMEOUT_MS = 10_000;

/** Opens a socket to the signaling server with the session cookie (and token, if any); reconnects with back-off. */
export async function openSignalingSocket(token?: string): Promise<SignalingSocket> {
  const { io } = await import('socket.io-client');
  const socket: SignalingSocket = io(config.PUBLIC_SIGNALING_URL, {
    withCredentials: true,
    ...(token ? { auth: { token } } : {}),
    transports: ['websocket'],
    reconnectionDelay: 500,
    reconnectionDelayMax: 8_000,
  });
  return socket;
}

/** Sends one request and waits for its ack. */
export async function request<E extends ClientEvent>(
  socket: SignalingSocket,
  event: E,
  payload: Payload<E>,
): Promise<AckPayloads[E]> {
  let res: unknown;
  try {
    // Socket.IO's typed emitWithAck cannot follow our mapped event type, hence the widening.
    const emitter = socket.timeout(REQUEST_TIMEOUT_MS) as unknown as {
      emitWithAck(ev: string, p: unknown): Promise<unknown>;
    };
    res = await emitter.emitWithAck(event, payload);
  } catch {
    throw new UserFacingError('NETWORK', 'The server did not answer in time. Check your connection and try again.');
  }
  const ack = res as { ok?: unknown; code?: unknown; details?: Record<string, string> };
  if (ack?.ok === true) {
    const { ok: _ok, ...rest } = ack as Record<string, unknown>;
    return rest as AckPayloads[E];
  }
  if (isErrorCode(ack?.code)) throw UserFacingError.fromCode(ack.code, ack.details);
  throw new UserFacingError('INTERNAL', 'The server sent an answer this app does not understand.');
}

/** The socket's id once it is connected (a join proof is signed for it); NETWORK when it does not connect in time. */
export function connectedId(socket: SignalingSocket, timeoutMs = REQUEST_TIMEOUT_MS): Promise<string> {
  if (socket.connected && socket.id) return Promise.resolve(socket.id);
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      socket.off('connect', done);
      if (socket.id) resolve(socket.id);
      else reject(new UserFacingError('NETWORK', 'The server cannot be reached right now.'));
    };
    const timer = setTimeout(() => {
      socket.off('connect', done);
      reject(new UserFacingError('NETWORK', 'The server cannot be reached right now.'));
    }, timeoutMs);
    socket.on('connect', done);
  });
}
