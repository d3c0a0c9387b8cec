import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { SignalingError } from '../errors.ts';
import { HTTP_STATUS } from './errors.ts';

/** What the `Origin` header of a request says about who sent it. */
export type OriginVerdict =
  /** A page of the dapp (one of CORS_ORIGINS). */
  | 'allowed'
  /** No `Origin` header: not a cross-site browser request (browsers send one on every WebSocket and POST). */
  | 'absent'
  /** A page of another site (or an opaque `null` origin): may not act with the session cookie. */
  | 'foreign';

/** Methods that change something; a browser sends `Origin` on each of them. */
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * The browser origins allowed to act with a signed-in wallet's session: CORS alone does not stop a foreign page from
 * sending a cookie-carrying POST or opening a WebSocket (neither needs a preflight), so the server checks `Origin`.
 */
export class OriginPolicy {
  readonly #allowed: ReadonlySet<string>;

  /** `allowed`: origins as configured (CORS_ORIGINS), compared in their serialized form (`scheme://host[:port]`). */
  constructor(allowed: readonly string[]) {
    this.#allowed = new Set(allowed.map((o) => new URL(o).origin));
  }

  /** Classifies an `Origin` header value. */
  verdict(origin: string | string[] | undefined): OriginVerdict {
    if (origin === undefined) return 'absent';
    return typeof origin === 'string' && this.#allowed.has(origin) ? 'allowed' : 'foreign';
  }

  /** The refusal of a foreign origin, with its stable code. */
  refusal(origin: string | string[] | undefined): SignalingError {
    return new SignalingError('ORIGIN_NOT_ALLOWED', `requests from origin ${String(origin)} are not allowed`);
  }

  /**
   * Socket.IO `allowRequest`: refuses every engine.io request (handshake, polling, upgrade) from a foreign origin
   * with 403 and a message starting with the stable code.
   */
  readonly allowRequest = (req: IncomingMessage, callback: (err: string | null, success: boolean) => void): void => {
    const origin = req.headers.origin;
    if (this.verdict(origin) === 'foreign') callback(`ORIGIN_NOT_ALLOWED: ${this.refusal(origin).message}`, false);
    else callback(null, true);
  };

  /** Refuses every write (POST, PUT, PATCH, DELETE) of `app` sent from a foreign origin, before its body is read. */
  guardWrites(app: FastifyInstance): void {
    app.addHook('onRequest', async (request, reply) => {
      if (!WRITE_METHODS.has(request.method)) return;
      // Routes that read no cookie (a bearer stream key is their credential) are not the session's to guard.
      if ((request.routeOptions.config as { bearerOnly?: boolean } | undefined)?.bearerOnly) return;
      const origin = request.headers.origin;
      if (this.verdict(origin) !== 'foreign') return;
      const error = this.refusal(origin);
      reply.status(HTTP_STATUS[error.code]).send(error.toAck());
      return reply;
    });
  }
}
