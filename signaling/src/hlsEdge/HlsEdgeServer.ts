import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type HlsFile, HlsReader } from '@persecond/sfu/hls-reader';
import type { ErrorCode } from '../protocol.ts';
import { StreamId } from '../protocol.ts';
import { EdgeSessions } from './EdgeSessions.ts';
import { FetchPolicy, type FetchRefusal } from './FetchPolicy.ts';
import { HlsFileCache, type HlsFileCacheOptions } from './HlsFileCache.ts';
import type { HlsTokens } from './HlsTokens.ts';

/** The header a player may send its HLS token in (native players use `?token=`). */
export const HLS_TOKEN_HEADER = 'x-hls-token';
const FILE = /^[A-Za-z0-9_.-]{1,64}$/;
const MAX_TOKEN_LENGTH = 256;
const CORS = { 'access-control-allow-origin': '*' } as const;
const PREFLIGHT = {
  ...CORS,
  'access-control-allow-methods': 'GET, OPTIONS',
  'access-control-allow-headers': HLS_TOKEN_HEADER,
  'access-control-max-age': '600',
} as const;

/** What the edge server serves and how it checks viewers. */
export interface HlsEdgeServerOptions {
  /** The SFU's HLS output directory (`HLS_DIR`). */
  hlsDir: string;
  /** The SFU's recordings (`RECORDING_DIR`), served under `/replay/` to replay sessions; none: no replays here. */
  recordingDir?: string;
  /** Seconds one media segment stands for (what serving it spends and charges). */
  segmentSeconds: number;
  /** Verifies tokens (the signaling process issues them with the same key). */
  tokens: HlsTokens;
  cache?: Partial<HlsFileCacheOptions>;
}

/**
 * The HLS edge's HTTP server (plain `node:http`, it must be cheap): `GET /hls/:streamId/:file` with the viewer's token
 * (`?token=` or `x-hls-token`) as `FetchPolicy` allows it (401, 402 or 429 otherwise), 404 STREAM_NOT_FOUND for a
 * file that does not exist (yet). `GET /replay/:streamId/:file` serves a stream's recording to its replay sessions
 * under the same rules, read from disk each time (no memory cache: a deleted replay is gone at once). Errors are
 * `{ ok: false, code, message }` like the signaling API. CORS is open (`*`): tokens, not cookies, guard it.
 */
export class HlsEdgeServer {
  readonly sessions: EdgeSessions;
  /** Who may fetch what: the only place an HLS fetch is allowed or refused. */
  readonly policy: FetchPolicy;
  readonly cache: HlsFileCache;
  readonly #recordings: HlsReader | undefined;
  readonly #server: Server;
  #closing: Promise<void> | undefined;

  constructor(options: HlsEdgeServerOptions) {
    this.sessions = new EdgeSessions();
    this.policy = new FetchPolicy(options.tokens, this.sessions, options.segmentSeconds);
    this.cache = new HlsFileCache(new HlsReader(options.hlsDir), {
      maxSegmentBytes: options.cache?.maxSegmentBytes ?? 64 * 1024 * 1024,
      playlistTtlMs: options.cache?.playlistTtlMs ?? 250,
    });
    this.#recordings = options.recordingDir === undefined ? undefined : new HlsReader(options.recordingDir);
    this.#server = createServer((req, res) => this.#handle(req, res));
  }

  /** Listens on `host:port` (0: a free port); resolves the actual port. */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve((this.#server.address() as AddressInfo).port);
      });
    });
  }

  /** Stops listening and drops open connections; safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      if (!this.#server.listening) return resolve();
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
    return this.#closing;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (req.method === 'OPTIONS') {
      res.writeHead(204, PREFLIGHT).end();
      return;
    }
    if (req.method !== 'GET') {
      fail(res, 405, 'BAD_REQUEST', 'only GET is served', { allow: 'GET, OPTIONS' });
      return;
    }
    if (path === '/healthz') {
      const body = JSON.stringify({
        ok: true,
        sessions: this.sessions.size,
        metered: this.policy.trackedSessions,
        cache: this.cache.stats,
      });
      res.writeHead(200, { ...CORS, 'content-type': 'application/json' }).end(body);
      return;
    }
    const parts = path.split('/');
    const replay = parts[1] === 'replay';
    if (parts.length !== 4 || parts[0] !== '' || (parts[1] !== 'hls' && !replay)) {
      fail(res, 404, 'BAD_REQUEST', 'unknown route');
      return;
    }
    const streamId = parts[2] as string;
    const file = parts[3] as string;
    if (!StreamId.safeParse(streamId).success || !FILE.test(file)) {
      fail(res, 400, 'BAD_REQUEST', 'a stream id and a file name are required');
      return;
    }
    const token = tokenOf(req, q < 0 ? '' : url.slice(q + 1));
    if (token === null) {
      fail(res, 400, 'BAD_REQUEST', `token: at most ${MAX_TOKEN_LENGTH} characters`);
      return;
    }
    const admitted = this.policy.admit(streamId, token, file, Date.now(), replay);
    if (!admitted.ok) {
      refuse(res, admitted);
      return;
    }
    const { sessionId } = admitted;
    const found = replay ? (this.#recordings?.read(streamId, file) ?? null) : this.cache.get(streamId, file);
    const serve = (f: HlsFile | null): void => {
      if (!f) {
        fail(res, 404, 'STREAM_NOT_FOUND', `no ${file} (yet)`);
        return;
      }
      // Decided again when handed over: a session denied (or limited) while its read was pending is not served.
      const delivered = this.policy.deliver(streamId, sessionId, file, Date.now(), replay);
      if (!delivered.ok) {
        refuse(res, delivered);
        return;
      }
      res
        .writeHead(200, {
          ...CORS,
          'content-type': f.contentType,
          'cache-control': f.cacheControl,
          'content-length': f.body.length,
        })
        .end(f.body);
    };
    if (found instanceof Promise) {
      found.then(serve, () => fail(res, 500, 'INTERNAL', 'something went wrong on our side'));
    } else serve(found);
  }
}

/** The token of a request: `?token=` first, else the header; '' when absent, null when too long. */
function tokenOf(req: IncomingMessage, query: string): string | null {
  let token: string | undefined;
  if (query !== '') token = new URLSearchParams(query).get('token') ?? undefined;
  if (token === undefined) {
    const header = req.headers[HLS_TOKEN_HEADER];
    token = typeof header === 'string' ? header : '';
  }
  return token.length > MAX_TOKEN_LENGTH ? null : token;
}

function refuse(res: ServerResponse, r: FetchRefusal): void {
  fail(res, r.status, r.code, r.message, r.headers, r.details);
}

function fail(
  res: ServerResponse,
  status: number,
  code: ErrorCode,
  message: string,
  headers?: Record<string, string>,
  details?: Record<string, string>,
): void {
  if (res.headersSent) return;
  const body = JSON.stringify({ ok: false, code, message, ...(details ? { details } : {}) });
  res.writeHead(status, { ...CORS, ...headers, 'content-type': 'application/json; charset=utf-8' }).end(body);
}
