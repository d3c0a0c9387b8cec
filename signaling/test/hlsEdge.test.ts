import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EdgeSessions } from '../src/hlsEdge/EdgeSessions.ts';
import { FetchPolicy, LIVE_PLAYLIST_SEGMENTS } from '../src/hlsEdge/FetchPolicy.ts';
import { HlsEdge } from '../src/hlsEdge/HlsEdge.ts';
import { HlsEdgeServer } from '../src/hlsEdge/HlsEdgeServer.ts';
import { HlsTokens } from '../src/hlsEdge/HlsTokens.ts';
import { isAlive } from './support/processes.ts';

const STREAM = 'stream-edge-1';
const OTHER_STREAM = 'stream-edge-2';
const SESSION = 'session-edge-1';
const SEGMENT_SECONDS = 2;
const SECRET = randomBytes(32).toString('base64url');

/** A stream directory as the ffmpeg relay leaves it: a live playlist naming its newest segments. */
function writeStream(root: string, streamId: string, segments: string[]): void {
  const dir = join(root, streamId);
  mkdirSync(dir, { recursive: true });
  for (const s of segments) writeFileSync(join(dir, s), Buffer.alloc(1000, s));
  const playlist = ['#EXTM3U', '#EXT-X-TARGETDURATION:2', ...segments.flatMap((s) => ['#EXTINF:2.0,', s])];
  writeFileSync(join(dir, 'index.m3u8'), `${playlist.join('\n')}\n`);
}

describe('HLS edge server (in process)', () => {
  const root = mkdtempSync(join(tmpdir(), 'persecond-edge-'));
  const tokens = new HlsTokens(SECRET, 60_000);
  let server: HlsEdgeServer;
  let base: string;
  const get = (path: string, init?: RequestInit) => fetch(`${base}${path}`, init);
  const withToken = (file: string, token = tokens.issue(STREAM, SESSION), streamId = STREAM) =>
    get(`/hls/${streamId}/${file}?token=${encodeURIComponent(token)}`);

  beforeAll(async () => {
    writeStream(root, STREAM, ['seg_00001.ts', 'seg_00002.ts', 'seg_00003.ts']);
    writeStream(root, OTHER_STREAM, ['seg_00001.ts']);
    server = new HlsEdgeServer({
      hlsDir: root,
      segmentSeconds: SEGMENT_SECONDS,
      tokens,
      cache: { playlistTtlMs: 100 },
    });
    base = `http://127.0.0.1:${await server.listen('127.0.0.1', 0)}`;
  });

  afterAll(async () => {
    await server?.close();
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('refuses bad paths, methods and file names without reading anything', async () => {
    server.sessions.allow(SESSION, STREAM);
    const token = tokens.issue(STREAM, SESSION);
    const cases: [string, number][] = [
      ['/', 404],
      ['/hls', 404],
      ['/hls/short/index.m3u8', 400],
      [`/hls/${STREAM}/..%2F..%2Fetc%2Fpasswd`, 400],
      // Normalized by the client to the other stream's playlist: this stream's token is no good there.
      [`/hls/${STREAM}/../${OTHER_STREAM}/index.m3u8`, 401],
      [`/hls/${STREAM}/a/b`, 404],
      [`/hls/${STREAM}/seg_1.ts`, 404],
      [`/hls/${STREAM}/index.m3u8.bak`, 404],
      [`/hls/${STREAM}/${'x'.repeat(65)}`, 400],
    ];
    for (const [path, status] of cases) {
      const res = await get(`${path}?token=${token}`);
      expect(res.status, path).toBe(status);
      expect(await res.json(), path).toMatchObject({ ok: false });
    }
    const post = await get(`/hls/${STREAM}/index.m3u8`, { method: 'POST' });
    expect(post.status).toBe(405);
    await post.arrayBuffer();
    const long = await get(`/hls/${STREAM}/index.m3u8?token=${'a'.repeat(300)}`);
    expect(long.status).toBe(400);
    expect(await long.json()).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
  });

  it('serves only a valid token of an allowed session of that stream: 401 otherwise, with open CORS', async () => {
    server.sessions.allow(SESSION, STREAM);
    const ok = await withToken('index.m3u8');
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    expect(ok.headers.get('access-control-allow-origin')).toBe('*');
    expect(await ok.text()).toMatch(/^#EXTM3U/);

    const header = await get(`/hls/${STREAM}/index.m3u8`, {
      headers: { 'x-hls-token': tokens.issue(STREAM, SESSION) },
    });
    expect(header.status).toBe(200);
    await header.arrayBuffer();

    const valid = tokens.issue(STREAM, SESSION);
    const refusals = [
      get(`/hls/${STREAM}/index.m3u8`),
      withToken('index.m3u8', `${valid.slice(0, -2)}AA`),
      withToken('index.m3u8', tokens.issue(STREAM, SESSION, Date.now() - 120_000)),
      withToken('index.m3u8', new HlsTokens(randomBytes(32).toString('hex'), 60_000).issue(STREAM, SESSION)),
      // A token of this stream used for another one, and a token of a session never allowed.
      withToken('index.m3u8', valid, OTHER_STREAM),
      withToken('index.m3u8', tokens.issue(OTHER_STREAM, SESSION), OTHER_STREAM),
      withToken('index.m3u8', tokens.issue(STREAM, 'session-unknown')),
    ];
    for (const res of await Promise.all(refusals)) {
      expect(res.status).toBe(401);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      expect(await res.json()).toMatchObject({ ok: false, code: 'UNAUTHENTICATED' });
    }
    const missing = await withToken('seg_00009.ts');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ ok: false, code: 'STREAM_NOT_FOUND' });
  });

  it('answers the CORS preflight of the x-hls-token header', async () => {
    const res = await get(`/hls/${STREAM}/index.m3u8`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://127.0.0.1:5173',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'x-hls-token',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-headers')).toContain('x-hls-token');
    expect(res.headers.get('access-control-allow-methods')).toContain('GET');
  });

  it('refuses a denied session at once (401), a paused one with 402 PAYMENT_REQUIRED, and serves it again when allowed', async () => {
    const session = 'session-edge-deny';
    server.sessions.allow(session, STREAM);
    const token = tokens.issue(STREAM, session);
    expect((await withToken('index.m3u8', token)).status).toBe(200);
    server.sessions.deny(session, 'voucher-lag');
    const paused = await withToken('index.m3u8', token);
    expect(paused.status).toBe(402);
    expect(await paused.json()).toMatchObject({
      ok: false,
      code: 'PAYMENT_REQUIRED',
      details: { reason: 'voucher-lag' },
    });
    server.sessions.allow(session, STREAM);
    const resumed = await withToken('seg_00001.ts', token);
    expect(resumed.status).toBe(200);
    await resumed.arrayBuffer();
    server.sessions.deny(session);
    const denied = await withToken('seg_00002.ts', token);
    expect(denied.status).toBe(401);
    await denied.arrayBuffer();
    // What it was delivered before the deny is still reported once.
    expect(server.sessions.drain()).toMatchObject({ [session]: SEGMENT_SECONDS });
  });

  it('charges every segment served its duration, a re-fetch too; playlists nothing', async () => {
    const session = 'session-edge-credit';
    server.sessions.allow(session, STREAM);
    server.sessions.drain();
    const token = tokens.issue(STREAM, session);
    for (const file of ['index.m3u8', 'seg_00001.ts', 'index.m3u8', 'seg_00002.ts', 'seg_00001.ts', 'index.m3u8']) {
      const res = await withToken(file, token);
      expect(res.status, file).toBe(200);
      await res.arrayBuffer();
    }
    // The edge cannot tell a retry from a second player on the token: the re-fetch is charged.
    expect(server.sessions.drain()).toEqual({ [session]: 3 * SEGMENT_SECONDS });
    expect(server.sessions.drain()).toEqual({});
    await (await withToken('index.m3u8', token)).arrayBuffer();
    expect(server.sessions.drain()).toEqual({});
  });

  it("refuses segments over one player's worth with 429 LIMIT_REACHED and Retry-After; playlists still served", async () => {
    const session = 'session-edge-limit';
    server.sessions.allow(session, STREAM);
    server.sessions.drain();
    server.policy.drainLimited();
    const token = tokens.issue(STREAM, session);
    // Capacity 6 × 2 + 2 = 14 media seconds: seven 2-second segments at once, then the bucket is empty.
    expect(server.policy.capacity).toBe(6 * SEGMENT_SECONDS + 2);
    const statuses: number[] = [];
    let refused: Response | undefined;
    for (let i = 0; i < 10; i++) {
      const res = await withToken(`seg_0000${(i % 3) + 1}.ts`, token);
      statuses.push(res.status);
      if (res.status === 429 && !refused) refused = res;
      else await res.arrayBuffer();
    }
    // Refilled at one media second per wall second while these ran: at most one more segment got through.
    const served = statuses.filter((s) => s === 200).length;
    expect(served).toBeGreaterThanOrEqual(7);
    expect(served).toBeLessThanOrEqual(8);
    expect(statuses.slice(0, 7)).toEqual(Array(7).fill(200));
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    expect(refused?.status).toBe(429);
    expect(refused?.headers.get('access-control-allow-origin')).toBe('*');
    expect(Number(refused?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(refused?.headers.get('retry-after'))).toBeLessThanOrEqual(SEGMENT_SECONDS);
    expect(await refused?.json()).toMatchObject({ ok: false, code: 'LIMIT_REACHED' });
    // A playlist spends nothing: still served.
    const playlist = await withToken('index.m3u8', token);
    expect(playlist.status).toBe(200);
    await playlist.arrayBuffer();
    // Every segment served is charged; every refusal is reported.
    expect(server.sessions.drain()).toEqual({ [session]: served * SEGMENT_SECONDS });
    expect(server.policy.drainLimited()).toEqual({ [session]: 10 - served });
    // Another session's bucket is its own.
    const other = 'session-edge-limit-2';
    server.sessions.allow(other, STREAM);
    const res = await withToken('seg_00001.ts', tokens.issue(STREAM, other));
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  });

  it('keeps segments in memory (immutable) and reads the playlist again after its short life', async () => {
    const session = 'session-edge-cache';
    server.sessions.allow(session, STREAM);
    const token = tokens.issue(STREAM, session);
    const first = Buffer.from(await (await withToken('seg_00003.ts', token)).arrayBuffer());
    const { hits } = server.cache.stats;
    // Gone from disk (the relay deletes old segments): still served from memory, byte for byte.
    unlinkSync(join(root, STREAM, 'seg_00003.ts'));
    const again = await withToken('seg_00003.ts', token);
    expect(again.status).toBe(200);
    expect(Buffer.from(await again.arrayBuffer()).equals(first)).toBe(true);
    expect(server.cache.stats.hits).toBe(hits + 1);

    await (await withToken('index.m3u8', token)).arrayBuffer();
    writeStream(root, STREAM, ['seg_00004.ts']);
    await vi.waitFor(
      async () => expect(await (await withToken('index.m3u8', token)).text()).toContain('seg_00004.ts'),
      { timeout: 15_000, interval: 20 },
    );
    const health = await get('/healthz');
    expect(await health.json()).toMatchObject({ ok: true, cache: { segmentBytes: expect.any(Number) } });
  });
});

describe("FetchPolicy: one player's worth per session, whoever holds the token", () => {
  const segmentSeconds = 2;
  const start = 1_000_000_000_000;

  /** A policy on an allowed session, its token, and a fetch at a given ms after `start`. */
  const setup = () => {
    const tokens = new HlsTokens(SECRET, 86_400_000);
    const sessions = new EdgeSessions();
    const policy = new FetchPolicy(tokens, sessions, segmentSeconds);
    sessions.allow(SESSION, STREAM);
    const token = tokens.issue(STREAM, SESSION, start);
    const fetchAt = (file: string, at: number) => {
      const admitted = policy.admit(STREAM, token, file, start + at);
      return admitted.ok ? policy.deliver(STREAM, admitted.sessionId, file, start + at) : admitted;
    };
    return { sessions, policy, fetchAt };
  };

  it('serves players sharing a token together at most elapsed seconds + capacity, every second of it charged', () => {
    const { sessions, policy, fetchAt } = setup();
    const capacity = policy.capacity;
    expect(capacity).toBe(14);
    let served = 0;
    let refused = 0;
    // Four players, each asking for the newest segment every 100 ms for five minutes, none in step.
    const durationMs = 300_000;
    for (let at = 0; at <= durationMs; at += 25) {
      const segment = `seg_${String(Math.floor(at / (segmentSeconds * 1000))).padStart(5, '0')}.ts`;
      const answer = fetchAt(segment, at);
      if (answer.ok) served += segmentSeconds;
      else {
        expect(answer).toMatchObject({ status: 429, code: 'LIMIT_REACHED' });
        refused++;
      }
    }
    expect(served).toBeLessThanOrEqual(durationMs / 1000 + capacity);
    // The bound is tight: one player's worth is served, no less.
    expect(served).toBeGreaterThanOrEqual(durationMs / 1000 - segmentSeconds);
    expect(refused).toBeGreaterThan(0);
    expect(sessions.drain()).toEqual({ [SESSION]: served });
    expect(policy.drainLimited()).toEqual({ [SESSION]: refused });
  });

  it('lets an honest live player through: its start buffer at once, then a segment per segment duration, bursts included', () => {
    const name = (n: number) => `seg_${String(n).padStart(5, '0')}.ts`;
    /** A player starting `behind` segments behind the live edge, then following it for an hour. */
    const follow = (behind: number, burstAt?: number) => {
      const { policy, fetchAt } = setup();
      for (let n = 0; n < behind; n++) expect(fetchAt(name(n), 0), name(n)).toMatchObject({ ok: true });
      for (let n = behind; n < behind + 1_800; n++) {
        // A transcoder catching up writes segment `burstAt` together with the next one: both fetched at once.
        const k = burstAt !== undefined && n === burstAt + 1 ? n - 1 : n;
        const at = (k - behind + 1) * segmentSeconds * 1000;
        expect(fetchAt(name(n), at), name(n)).toMatchObject({ ok: true });
      }
      expect(policy.drainLimited()).toEqual({});
    };
    // hls.js starts liveSyncDurationCount (3; the dapp: 2) target durations behind the live edge: 3 segments, 4 when
    // the start position falls on a boundary; a simple player fetches all the playlist lists.
    follow(3, 900);
    follow(4);
    follow(2, 10);
    follow(LIVE_PLAYLIST_SEGMENTS, 1_200);
  });

  it('keeps a bucket across a deny and a new allow (a reconnect gets no fresh one); refusals come in order 401, 402, 429', () => {
    const { sessions, policy, fetchAt } = setup();
    for (let i = 0; i < 7; i++) expect(fetchAt(`seg_0000${i}.ts`, 0)).toMatchObject({ ok: true });
    expect(fetchAt('seg_00010.ts', 0)).toMatchObject({ status: 429, headers: { 'retry-after': '2' } });
    sessions.deny(SESSION);
    expect(fetchAt('seg_00010.ts', 0)).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    sessions.allow(SESSION, STREAM, 'voucher-lag');
    expect(fetchAt('seg_00010.ts', 0)).toMatchObject({ status: 402, details: { reason: 'voucher-lag' } });
    sessions.allow(SESSION, STREAM);
    expect(fetchAt('seg_00010.ts', 1_000)).toMatchObject({ status: 429, headers: { 'retry-after': '1' } });
    expect(fetchAt('index.m3u8', 1_000)).toMatchObject({ ok: true });
    expect(fetchAt('seg_00010.ts', 2_000)).toMatchObject({ ok: true });
    // Full again after capacity seconds unused: dropped, and a new bucket starts full (nothing lost either way).
    expect(fetchAt('seg_00011.ts', 2_000 + policy.capacity * 1000)).toMatchObject({ ok: true });
    expect(policy.trackedSessions).toBe(1);
    expect(fetchAt('seg_00012.ts', 4_000 + 3 * policy.capacity * 1000)).toMatchObject({ ok: true });
    expect(policy.trackedSessions).toBe(1);
  });
});

describe('HLS edge child process (HlsEdge)', () => {
  const root = mkdtempSync(join(tmpdir(), 'persecond-edge-proc-'));
  const tokens = new HlsTokens(SECRET, 60_000);
  const log = pino({ level: 'silent' });

  beforeAll(() => {
    writeStream(root, STREAM, ['seg_00001.ts', 'seg_00002.ts', 'seg_00003.ts', 'seg_00004.ts']);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('is restarted on its port after a SIGKILL, with the allow list sent again; close() twice leaves no child', async () => {
    const registry = new Registry();
    const edge = await HlsEdge.start({
      host: '127.0.0.1',
      port: 0,
      hlsDir: root,
      segmentSeconds: SEGMENT_SECONDS,
      tokenSecret: SECRET,
      reportIntervalMs: 50,
      restartDelayMs: { min: 50, max: 1_000 },
      log,
      registry,
    });
    const pids: number[] = [];
    try {
      const reports: Record<string, number>[] = [];
      edge.onDelivered = (seconds) => reports.push({ ...seconds });
      expect(edge.url).toBe(`http://127.0.0.1:${edge.port}`);
      const fetchFile = (file: string) =>
        fetch(`${edge.url}/hls/${STREAM}/${file}?token=${tokens.issue(STREAM, SESSION)}`);
      // Not allowed yet.
      expect((await fetchFile('index.m3u8')).status).toBe(401);
      edge.allow(SESSION, STREAM);
      await vi.waitFor(async () => expect((await fetchFile('seg_00001.ts')).status).toBe(200), { timeout: 20_000 });
      await vi.waitFor(() => expect(reports).toEqual([{ [SESSION]: SEGMENT_SECONDS }]), { timeout: 20_000 });

      const first = edge.pid as number;
      pids.push(first);
      process.kill(first, 'SIGKILL');
      // Back on the same port, the session still allowed: a viewer's fetches succeed again.
      await vi.waitFor(
        async () => {
          expect(edge.pid).toBeDefined();
          expect(edge.pid).not.toBe(first);
          const res = await fetchFile('seg_00002.ts');
          expect(res.status).toBe(200);
          await res.arrayBuffer();
        },
        { timeout: 20_000, interval: 100 },
      );
      pids.push(edge.pid as number);
      expect(isAlive(first)).toBe(false);
      await vi.waitFor(
        () => expect(reports).toEqual([{ [SESSION]: SEGMENT_SECONDS }, { [SESSION]: SEGMENT_SECONDS }]),
        {
          timeout: 20_000,
        },
      );
      // Denied sessions stay denied in the new child.
      edge.deny(SESSION, 'settlement-lag');
      await vi.waitFor(async () => expect((await fetchFile('seg_00003.ts')).status).toBe(402), { timeout: 20_000 });
      edge.deny(SESSION);
      await vi.waitFor(async () => expect((await fetchFile('seg_00003.ts')).status).toBe(401), { timeout: 20_000 });
      // Placed while paused, then current again.
      edge.allow(SESSION, STREAM, 'voucher-lag');
      await vi.waitFor(async () => expect((await fetchFile('index.m3u8')).status).toBe(402), { timeout: 20_000 });
      edge.allow(SESSION, STREAM);
      await vi.waitFor(async () => expect((await fetchFile('index.m3u8')).status).toBe(200), { timeout: 20_000 });

      const metrics = await registry.metrics();
      expect(metrics).toMatch(/^signaling_hls_edge_restarts_total 1$/m);
      expect(metrics).toMatch(new RegExp(`^signaling_hls_edge_delivered_seconds_total ${2 * SEGMENT_SECONDS}$`, 'm'));

      // More than one player's worth on the token: refused 429, and the refusals counted by the parent.
      const statuses: number[] = [];
      const reportsBefore = reports.length;
      for (let i = 0; i < 12; i++) {
        const res = await fetchFile(`seg_0000${(i % 4) + 1}.ts`);
        statuses.push(res.status);
        await res.arrayBuffer();
      }
      expect(statuses).toContain(429);
      const served = statuses.filter((s) => s === 200).length;
      await vi.waitFor(
        async () =>
          expect(await registry.metrics()).toMatch(
            new RegExp(`^signaling_hls_edge_limited_total ${statuses.length - served}$`, 'm'),
          ),
        { timeout: 5_000 },
      );
      const reportedAfter = () => reports.slice(reportsBefore).reduce((sum, r) => sum + (r[SESSION] ?? 0), 0);
      await vi.waitFor(() => expect(reportedAfter()).toBe(served * SEGMENT_SECONDS), { timeout: 5_000 });
    } finally {
      await edge.close();
      await edge.close();
    }
    expect(edge.pid).toBeUndefined();
    for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
    await expect(fetch(`${edge.url}/healthz`)).rejects.toThrow();
  });

  it('fails to start on a busy port or too slowly (HLS_EDGE_START_FAILED); a close() during start rejects it', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const busy = (blocker.address() as { port: number }).port;
    const options = { host: '127.0.0.1', hlsDir: root, segmentSeconds: 1, tokenSecret: SECRET, log };
    try {
      await expect(HlsEdge.start({ ...options, port: busy })).rejects.toMatchObject({ code: 'HLS_EDGE_START_FAILED' });
    } finally {
      blocker.close();
    }
    // Too short to start: the child is killed and the start rejected.
    const slow = new HlsEdge({ ...options, port: 0, startTimeoutMs: 1 });
    const slowStart = slow.start();
    const slowPid = slow.pid as number;
    await expect(slowStart).rejects.toMatchObject({ code: 'HLS_EDGE_START_FAILED' });
    await vi.waitFor(() => expect(isAlive(slowPid)).toBe(false), { timeout: 20_000 });

    // Closed while starting: the start is rejected, the child stopped, and a second close() is harmless.
    const edge = new HlsEdge({ ...options, port: 0 });
    const starting = edge.start();
    const pid = edge.pid as number;
    expect(isAlive(pid)).toBe(true);
    await edge.close();
    await expect(starting).rejects.toMatchObject({ code: 'HLS_EDGE_CLOSED' });
    await edge.close();
    expect(isAlive(pid)).toBe(false);
    await expect(edge.start()).rejects.toMatchObject({ code: 'HLS_EDGE_CLOSED' });
  });
});
