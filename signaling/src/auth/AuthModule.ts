import rateLimit from '@fastify/rate-limit';
import {
  buildSignInMessage,
  type ChainClient,
  ContractsClientError,
  parseSignInMessage,
  verifySignIn,
} from '@persecond/contracts-client';
import { decodeAddress, encodeAddress } from '@polkadot/util-crypto';
import { parseCookie, stringifySetCookie } from 'cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { dependencyOf } from '../dependencies/dependencyModule.ts';
import { SignalingError } from '../errors.ts';
import { installErrorHandler, parseInput } from '../http/errors.ts';
import { OriginPolicy } from '../http/origins.ts';
import type { SignalingContext, SignalingModule, SignalingModuleFactory } from '../SignalingContext.ts';
import { type AuthConfig, loadAuthConfig } from './config.ts';
import { LocalNonceStore, type NonceStore, RedisNonceStore } from './NonceStore.ts';
import { type Session, SessionTokens } from './SessionTokens.ts';
import { redisRateLimitStore } from './signInLimitStore.ts';

/** The auth module as other modules see it (`ctx.modules.get('auth')`). */
export interface AuthModule extends SignalingModule {
  readonly name: 'auth';
  /** The signed-in address of an HTTP request (cookie or `Authorization: Bearer`); throws UNAUTHENTICATED. */
  requireAddress(request: FastifyRequest): string;
  /** The signed-in address of an HTTP request, if any. */
  addressOf(request: FastifyRequest): string | undefined;
  /** The session a token stands for, if the token is valid and unexpired. */
  verifyToken(token: string): Session | undefined;
}

/** The auth module of a context; throws if it was not created before the caller. */
export function getAuthModule(ctx: SignalingContext): AuthModule {
  const mod = ctx.modules.get('auth') as Partial<AuthModule> | undefined;
  if (!mod || typeof mod.requireAddress !== 'function') {
    throw new Error('the auth module must be created before this module (see SIGNALING_MODULES)');
  }
  return mod as AuthModule;
}

const NonceBody = z.object({
  address: z
    .string()
    .max(64)
    .refine((a) => {
      try {
        return decodeAddress(a).length === 32;
      } catch {
        return false;
      }
    }, 'not an SS58 account address'),
});

const VerifyBody = z.object({
  message: z.string().min(1).max(4096),
  /** sr25519/ed25519 (64 bytes), ecdsa (65), optionally MultiSignature-prefixed. */
  signature: z.string().regex(/^0x[0-9a-fA-F]{128,134}$/, 'a hex signature'),
});

/** Wallet sign-in failures as the stable codes clients see; `reason` tells which check failed. */
function signInError(err: unknown): unknown {
  if (!(err instanceof ContractsClientError)) return err;
  switch (err.code) {
    case 'SIWS_WRONG_DOMAIN':
      return new SignalingError('SIGNATURE_INVALID', err.message, { reason: 'wrong-domain' });
    case 'SIWS_WRONG_CHAIN':
      return new SignalingError('SIGNATURE_INVALID', err.message, { reason: 'wrong-chain' });
    case 'SIWS_EXPIRED':
      return new SignalingError('NONCE_INVALID', err.message, { reason: 'expired' });
    case 'NONCE_INVALID':
      return new SignalingError('NONCE_INVALID', err.message, { reason: 'used-or-unknown' });
    case 'SIGNATURE_INVALID':
      return new SignalingError('SIGNATURE_INVALID', err.message, { reason: 'signature' });
    default:
      return new SignalingError('BAD_REQUEST', err.message);
  }
}

/**
 * Sign-in with Substrate: `POST /v1/auth/nonce` → message to sign, `POST /v1/auth/verify` → session token (httpOnly
 * cookie and JSON body), `GET /v1/auth/session`, `POST /v1/auth/logout`, and the Socket.IO middleware that signs in
 * sockets from `handshake.auth.token` or the cookie. Pass `config` to override the environment.
 */
export function authModule(config?: AuthConfig): SignalingModuleFactory {
  return async (ctx) => createAuthModule(ctx, config ?? loadAuthConfig());
}

async function createAuthModule(ctx: SignalingContext, config: AuthConfig): Promise<AuthModule> {
  const log = ctx.log.child({ part: 'auth' });
  const { redis } = ctx;
  if (!config.SESSION_SECRET) {
    log.warn('SESSION_SECRET is unset: using a random per-process secret (sessions end with this process)');
  }
  if (config.SESSION_SECRET_PREVIOUS) {
    log.info('SESSION_SECRET_PREVIOUS is set: sessions signed with it are accepted until they expire (a rotation)');
  }
  const previous = config.SESSION_SECRET_PREVIOUS ? [config.SESSION_SECRET_PREVIOUS] : [];
  const tokens = new SessionTokens(config.SESSION_SECRET, config.SESSION_TTL_SECONDS * 1000, previous);
  const nonceTtlMs = config.SIWS_NONCE_TTL_SECONDS * 1000;
  const nonces: NonceStore = redis
    ? new RedisNonceStore(redis, config.AUTH_REDIS_PREFIX, nonceTtlMs, dependencyOf(ctx.modules, 'redis'))
    : new LocalNonceStore(nonceTtlMs);

  // Messages are only ever issued for, and accepted from, these domains: never trust the Host header for this.
  const allowedDomains = config.SIWS_DOMAIN
    ? [config.SIWS_DOMAIN]
    : [...new Set(ctx.config.CORS_ORIGINS.map((o) => new URL(o).host))];
  const defaultDomain = allowedDomains[0];
  const origins = new OriginPolicy(ctx.config.CORS_ORIGINS);

  const chainOf = (): ChainClient => {
    if (!ctx.chain) throw new SignalingError('CHAIN_UNAVAILABLE', 'this node is not connected to a chain');
    return ctx.chain;
  };
  const canonical = (address: string): string => encodeAddress(decodeAddress(address), ctx.chain?.facts.ss58 ?? 42);

  const tokenOf = (request: FastifyRequest): string | undefined => {
    const auth = request.headers.authorization;
    if (auth?.startsWith('Bearer ')) return auth.slice('Bearer '.length).trim();
    const header = request.headers.cookie;
    return header ? parseCookie(header)[config.SESSION_COOKIE] : undefined;
  };
  const addressOf = (request: FastifyRequest): string | undefined => {
    const token = tokenOf(request);
    return token ? tokens.verify(token)?.address : undefined;
  };
  const requireAddress = (request: FastifyRequest): string => {
    const address = addressOf(request);
    if (!address) throw new SignalingError('UNAUTHENTICATED', 'sign in with your wallet first');
    return address;
  };
  const setCookie = (reply: FastifyReply, value: string, maxAge: number): void => {
    reply.header(
      'set-cookie',
      stringifySetCookie(config.SESSION_COOKIE, value, {
        httpOnly: true,
        sameSite: config.SESSION_COOKIE_SAMESITE,
        secure: config.SESSION_COOKIE_SECURE,
        partitioned: config.SESSION_COOKIE_PARTITIONED,
        path: '/',
        maxAge,
      }),
    );
  };

  const limit = { max: config.AUTH_RATE_LIMIT_MAX, timeWindow: config.AUTH_RATE_LIMIT_WINDOW_MS };
  await ctx.app.register(async (scope: FastifyInstance) => {
    installErrorHandler(scope);
    await scope.register(rateLimit, {
      global: false,
      // Shared by every node when they share Redis (keys under the auth prefix), so more nodes do not mean more tries.
      ...(redis
        ? {
            store: redisRateLimitStore(redis, `${config.AUTH_REDIS_PREFIX}signin:`, dependencyOf(ctx.modules, 'redis')),
          }
        : {}),
      errorResponseBuilder: (_req, c) =>
        new SignalingError('RATE_LIMITED', `too many sign-in attempts; retry in ${c.after}`, {
          retryAfterMs: String(c.ttl),
        }),
    });

    scope.post('/v1/auth/nonce', { config: { rateLimit: limit } }, async (request) => {
      const { address } = parseInput(NonceBody, request.body);
      const chain = chainOf();
      const origin = request.headers.origin;
      const originHost = origin && origins.verdict(origin) === 'allowed' ? new URL(origin).host : undefined;
      const domain = originHost && allowedDomains.includes(originHost) ? originHost : defaultDomain;
      if (!domain) throw new SignalingError('INTERNAL', 'no sign-in domain configured (SIWS_DOMAIN)');
      const nonce = await nonces.issue();
      const issuedAt = new Date();
      const expiresAt = new Date(issuedAt.getTime() + nonceTtlMs);
      const message = buildSignInMessage({
        domain,
        address,
        statement: config.SIWS_STATEMENT,
        uri: originHost ? (origin as string) : `${config.SESSION_COOKIE_SECURE ? 'https' : 'http'}://${domain}`,
        genesisHash: chain.facts.genesisHash,
        nonce,
        issuedAt,
        expiresAt,
      });
      return { ok: true, message, nonce, expiresAt: expiresAt.toISOString() };
    });

    scope.post('/v1/auth/verify', { config: { rateLimit: limit } }, async (request, reply) => {
      const { message, signature } = parseInput(VerifyBody, request.body);
      const chain = chainOf();
      let address: string;
      try {
        const claimed = parseSignInMessage(message).domain;
        const fields = await verifySignIn(message, signature, {
          domain: allowedDomains.includes(claimed) ? claimed : (defaultDomain ?? ''),
          genesisHash: chain.facts.genesisHash,
          consumeNonce: (nonce) => nonces.consume(nonce),
        });
        address = canonical(fields.address);
      } catch (err) {
        throw signInError(err);
      }
      const { token, session } = tokens.issue(address);
      setCookie(reply, token, Math.floor((session.expiresAt.getTime() - Date.now()) / 1000));
      log.debug({ address }, 'signed in');
      return { ok: true, address, token, expiresAt: session.expiresAt.toISOString() };
    });

    scope.get('/v1/auth/session', async (request) => {
      const token = tokenOf(request);
      const session = token ? tokens.verify(token) : undefined;
      if (!session) throw new SignalingError('UNAUTHENTICATED', 'no valid session');
      return { ok: true, address: session.address, expiresAt: session.expiresAt.toISOString() };
    });

    scope.post('/v1/auth/logout', async (_request, reply) => {
      setCookie(reply, '', 0);
      return { ok: true };
    });
  });

  const refuse = (code: 'UNAUTHENTICATED' | 'ORIGIN_NOT_ALLOWED', message: string, reason?: string) => {
    const err = new Error(message) as Error & { data: { code: string; reason?: string } };
    err.data = { code, ...(reason ? { reason } : {}) };
    return err;
  };
  /**
   * Signs in a socket from `handshake.auth.token`, or from the cookie when a page of the dapp opened it. The node's
   * `allowRequest` already turned foreign origins away; checked again here so that this gate stands on its own.
   */
  ctx.io.use((socket, next) => {
    const origin = origins.verdict(socket.handshake.headers.origin);
    if (origin === 'foreign') return next(refuse('ORIGIN_NOT_ALLOWED', 'this origin may not open sockets'));
    const auth: unknown = socket.handshake.auth?.token;
    const cookieHeader = socket.handshake.headers.cookie;
    const cookie = cookieHeader ? parseCookie(cookieHeader)[config.SESSION_COOKIE] : undefined;
    // A browser always names the page's origin; without one the ambient cookie proves nothing about who is asking.
    if (typeof auth !== 'string' && cookie !== undefined && origin === 'absent') {
      return next(
        refuse(
          'UNAUTHENTICATED',
          'a session cookie counts only with an Origin; send the token',
          'cookie-without-origin',
        ),
      );
    }
    const token = typeof auth === 'string' ? auth : cookie;
    if (token === undefined) return next();
    const session = tokens.verify(token);
    if (!session) return next(refuse('UNAUTHENTICATED', 'session token invalid or expired'));
    socket.data.address = session.address;
    next();
  });

  // Nothing of its own to release: the node closes the Redis client it shares.
  return {
    name: 'auth',
    requireAddress,
    addressOf,
    verifyToken: (token) => tokens.verify(token),
  };
}
