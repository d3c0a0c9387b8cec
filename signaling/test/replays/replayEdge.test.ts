// The HLS edge's replay route in process over real HTTP, on a recording laid out as the SFU's VodWriter writes it:
// served to allowed replay sessions only (never to live sessions, and replay sessions get nothing live), under the
// same 402 and bucket as live, each segment delivered reported by number (not charged by the edge); a removed
// recording is 404 at once. And WatchedSegments with ReplayCharging, which charge a replay's numbers once per session,
// each kept before it is charged.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderMediaPlaylist, segmentNameOf } from '@persecond/sfu';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HlsCredit } from '../../src/hlsEdge/HlsCredit.ts';
import { HlsEdgeServer } from '../../src/hlsEdge/HlsEdgeServer.ts';
import { HlsTokens } from '../../src/hlsEdge/HlsTokens.ts';
import { ReplayCharging, type WatchedRow } from '../../src/replays/ReplayCharging.ts';
import { WatchedSegments } from '../../src/replays/WatchedSegments.ts';

const STREAM = 'stream-replay-1';
const SEGMENTS = 20;
const SECRET = randomBytes(32).toString('base64url');

/** A finished one-rendition recording (`index.m3u8` over `seg_00000.ts`…) and a live output of the same stream. */
function writeFiles(hlsDir: string, recordingDir: string): void {
  const vod = join(recordingDir, STREAM);
  mkdirSync(vod, { recursive: true });
  const entries = [];
  for (let n = 0; n < SEGMENTS; n++) {
    const uri = segmentNameOf('seg', n);
    writeFileSync(join(vod, uri), Buffer.alloc(1000, n));
    entries.push({ uri, duration: 1, discontinuity: false });
  }
  writeFileSync(join(vod, 'index.m3u8'), renderMediaPlaylist(entries, 1, true));
  writeFileSync(join(vod, 'recording.json'), '{}');
  const liveDir = join(hlsDir, STREAM);
  mkdirSync(liveDir, { recursive: true });
  writeFileSync(join(liveDir, 'index.m3u8'), '#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nseg_1800000000.ts\n');
  writeFileSync(join(liveDir, 'seg_1800000000.ts'), Buffer.alloc(500, 1));
}

describe('the HLS edge serving replays', () => {
  const root = mkdtempSync(join(tmpdir(), 'persecond-edge-replay-'));
  const hlsDir = join(root, 'hls');
  const recordingDir = join(root, 'recordings');
  const tokens = new HlsTokens(SECRET, 60_000);
  let server: HlsEdgeServer;
  let base: string;
  const get = async (path: string, session: string) => {
    const res = await fetch(`${base}${path}?token=${encodeURIComponent(tokens.issue(STREAM, session))}`);
    const body = Buffer.from(await res.arrayBuffer());
    const code = res.headers.get('content-type')?.startsWith('application/json')
      ? (JSON.parse(body.toString()) as { code?: string }).code
      : undefined;
    return { status: res.status, body, code };
  };
  const replay = (file: string, session: string) => get(`/replay/${STREAM}/${file}`, session);

  beforeAll(async () => {
    writeFiles(hlsDir, recordingDir);
    server = new HlsEdgeServer({ hlsDir, recordingDir, segmentSeconds: 1, tokens, cache: { playlistTtlMs: 100 } });
    base = `http://127.0.0.1:${await server.listen('127.0.0.1', 0)}`;
  });

  afterAll(async () => {
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('serves the recording to replay sessions only, and nothing live to them', async () => {
    server.sessions.allow('session-replay-a', STREAM, undefined, true);
    server.sessions.allow('session-live-a', STREAM);
    const playlist = await replay('index.m3u8', 'session-replay-a');
    expect(playlist.status).toBe(200);
    expect(playlist.body.toString()).toContain('#EXT-X-ENDLIST');
    expect((await replay(segmentNameOf('seg', 3), 'session-replay-a')).body.length).toBe(1000);
    // A live session's token is no replay's, and the reverse; an unknown session is refused; no file is 404.
    expect(await replay('index.m3u8', 'session-live-a')).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    expect(await get(`/hls/${STREAM}/index.m3u8`, 'session-replay-a')).toMatchObject({ status: 401 });
    expect((await get(`/hls/${STREAM}/index.m3u8`, 'session-live-a')).status).toBe(200);
    expect(await replay('index.m3u8', 'session-replay-nobody')).toMatchObject({ status: 401 });
    expect((await replay('recording.json', 'session-replay-a')).status).toBe(404);
    expect((await replay(segmentNameOf('seg', 99), 'session-replay-a')).status).toBe(404);
    server.sessions.deny('session-replay-a', 'voucher-lag');
    expect(await replay('index.m3u8', 'session-replay-a')).toMatchObject({ status: 402, code: 'PAYMENT_REQUIRED' });
    server.sessions.deny('session-replay-a');
    server.sessions.deny('session-live-a');
    server.sessions.drainReplay();
    server.sessions.drain();
  });

  it('reports each replay segment delivered by number and charges no seconds itself', async () => {
    const session = 'session-replay-b';
    server.sessions.allow(session, STREAM, undefined, true);
    for (const n of [0, 1, 1, 0, 5]) expect((await replay(segmentNameOf('seg', n), session)).status).toBe(200);
    expect((await replay('index.m3u8', session)).status).toBe(200);
    expect(server.sessions.drainReplay()).toEqual({ [session]: [0, 1, 5] });
    expect(server.sessions.drain()).toEqual({});
    expect(server.sessions.drainReplay()).toEqual({});
    server.sessions.deny(session);
  });

  it("holds a replay session to one player's worth, re-fetches included", async () => {
    const session = 'session-replay-c';
    server.sessions.allow(session, STREAM, undefined, true);
    server.policy.drainLimited();
    const statuses: number[] = [];
    for (let i = 0; i < 2 * SEGMENTS; i++) statuses.push((await replay(segmentNameOf('seg', i % 4), session)).status);
    const served = statuses.filter((s) => s === 200).length;
    expect(served).toBeGreaterThanOrEqual(server.policy.capacity);
    expect(served).toBeLessThan(2 * SEGMENTS);
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    expect(server.policy.drainLimited()).toEqual({ [session]: 2 * SEGMENTS - served });
    server.sessions.deny(session);
  });

  it('answers 404 as soon as the recording is removed', async () => {
    const session = 'session-replay-d';
    server.sessions.allow(session, STREAM, undefined, true);
    expect((await replay(segmentNameOf('seg', 7), session)).status).toBe(200);
    rmSync(join(recordingDir, STREAM), { recursive: true, force: true });
    expect((await replay(segmentNameOf('seg', 7), session)).status).toBe(404);
    expect((await replay('index.m3u8', session)).status).toBe(404);
    server.sessions.deny(session);
  });
});

describe('WatchedSegments and ReplayCharging', () => {
  it('tells the numbers not charged yet, each once', () => {
    const w = new WatchedSegments();
    expect(w.fresh([0, 1, 5, 1])).toEqual([0, 1, 5]);
    w.add([0, 1, 5]);
    expect(w.fresh([1, 0])).toEqual([]);
    expect(w.fresh([2, 2, 5])).toEqual([2]);
    expect(w.size).toBe(3);
  });

  /** A replay session as charging sees it. */
  const session = () => ({ mode: 'replay', closed: false, hls: new HlsCredit(), watched: new WatchedSegments() });
  const log = pino({ level: 'silent' });

  it('keeps new numbers before crediting them, and credits a number once per session across reports', async () => {
    const a = session();
    const b = session();
    const kept: WatchedRow[][] = [];
    const charging = new ReplayCharging(
      (id) => ({ a, b })[id],
      async (rows) => {
        // Nothing is credited before the numbers are kept.
        expect(a.hls.credit + b.hls.credit).toBe(kept.flat().length);
        kept.push([...rows]);
      },
      1,
      log,
    );
    charging.deliver({ a: [0, 1, 1], b: [7] });
    charging.deliver({ a: [1, 0, 5], gone: [3] });
    charging.deliver({ a: [5] });
    await charging.settled();
    expect(kept).toEqual([
      [
        { sessionId: 'a', seq: 0 },
        { sessionId: 'a', seq: 1 },
        { sessionId: 'b', seq: 7 },
      ],
      [{ sessionId: 'a', seq: 5 }],
    ]);
    expect([a.hls.credit, b.hls.credit]).toEqual([3, 1]);
  });

  it('charges nothing for a report it could not keep (served uncharged, never charged twice)', async () => {
    const a = session();
    let fail = true;
    const charging = new ReplayCharging(
      () => a,
      async () => {
        if (fail) throw new Error('database away');
      },
      2,
      log,
    );
    charging.deliver({ a: [0, 1] });
    await charging.settled();
    expect(a.hls.credit).toBe(0);
    fail = false;
    charging.deliver({ a: [1, 2] });
    await charging.settled();
    // Numbers not kept before count as new: 1 and 2, two seconds each.
    expect(a.hls.credit).toBe(4);
    expect(a.watched.fresh([0, 1, 2])).toEqual([0]);
  });
});
