import type { FastifyError, FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { dependencyRefusal } from '../dependencies/refusals.ts';
import { SignalingError } from '../errors.ts';
import type { ErrorCode } from '../protocol.ts';

/** HTTP status of each stable code on the HTTP API. */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  UNAUTHENTICATED: 401,
  NONCE_INVALID: 401,
  SIGNATURE_INVALID: 401,
  STREAM_NOT_FOUND: 404,
  STREAM_NOT_LIVE: 409,
  NOT_CREATOR: 403,
  BALANCE_INSUFFICIENT: 402,
  DEBT_OUTSTANDING: 402,
  VOUCHER_INVALID: 400,
  PAYMENT_REQUIRED: 402,
  CAPACITY_FULL: 503,
  RATE_LIMITED: 429,
  CHAIN_UNAVAILABLE: 503,
  INTERNAL: 500,
  SESSION_NOT_FUNDED: 402,
  SESSION_IN_USE: 409,
  SESSION_ID_INVALID: 400,
  AMOUNT_OUT_OF_RANGE: 400,
  LIMIT_REACHED: 409,
  ORIGIN_NOT_ALLOWED: 403,
  CHAT_PAYING_ONLY: 403,
  CHAT_BANNED: 403,
  CHAT_TIMED_OUT: 403,
  NOT_MODERATOR: 403,
  STREAM_KEY_INVALID: 401,
  STREAM_KEY_REVOKED: 401,
  STREAM_KEY_NOT_FOUND: 404,
  ALREADY_PUBLISHING: 409,
  THUMBNAIL_NOT_READY: 404,
  LEDGER_UNAVAILABLE: 503,
  REDIS_UNAVAILABLE: 503,
  NOT_ON_STAGE: 403,
  NOT_STAGE_HOST: 403,
  STAGE_REQUEST_NOT_FOUND: 404,
  FORCE_MUTED: 403,
};

/** Parses an HTTP body (or params) with `schema`; throws BAD_REQUEST naming the first problem. */
export function parseInput<T extends z.ZodType>(schema: T, input: unknown): z.infer<T> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const first = parsed.error.issues[0];
  throw new SignalingError('BAD_REQUEST', `${first?.path.join('.') || 'body'}: ${first?.message}`);
}

/**
 * Makes every error of the routes in `scope` answer `{ ok: false, code, message }` with a matching status:
 * SignalingErrors keep their code, fastify's own 4xx (bad JSON, wrong content type) become BAD_REQUEST.
 */
export function installErrorHandler(scope: FastifyInstance): void {
  scope.setErrorHandler((err: FastifyError | SignalingError, request, reply) => {
    let error: SignalingError;
    const refusal = err instanceof SignalingError ? undefined : dependencyRefusal(err);
    if (err instanceof SignalingError) error = err;
    else if (refusal) error = refusal;
    else if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      error = new SignalingError('BAD_REQUEST', err.message);
    } else {
      request.log.error({ err }, 'request failed');
      error = new SignalingError('INTERNAL', 'something went wrong on our side');
    }
    return reply.status(HTTP_STATUS[error.code]).send(error.toAck());
  });
}
