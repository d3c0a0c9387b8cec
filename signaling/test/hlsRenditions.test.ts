// The HLS edge over a ladder (master playlist + one media playlist per rendition), in process over real HTTP: every
// rendition's files are served to paying sessions only, under the same rules, and a media second is charged once
// whatever the rendition.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeliveredSegments } from '../src/hlsEdge/DeliveredSegments.ts';
import { HlsEdgeServer } from '../src/hlsEdge/HlsEdgeServer.ts';
import { HlsTokens } from '../src/hlsEdge/HlsTokens.ts';

const STREAM = 'stream-ladder-1';
const SEGMENT_SECONDS = 1;
const RENDITIONS = ['high', 'low'] as const;
const SECRET = randomBytes(32).toString('base64url');
const seg = (r: string, n: number) => `${r}_${String(n).padStart(5, '0')}.ts`;

/** A stream directory as the ffmpeg relay leaves it for a two-rendition ladder, segments 1..`count`. */
function writeLadder(root: string, count: number): void {
  const dir = join(root, STREAM);
  mkdirSync(dir, { recursive: true });
  const master = ['#EXTM3U', '#EXT-X-VERSION:6'];
  for (const r of RENDITIONS) {
    master.push(`#EXT-X-STREAM-INF:BANDWIDTH=${r === 'high' ? 2855600 : 765600}`, `${r}.m3u8`);
    const list = ['#EXTM3U', '#EXT-X-TARGETDURATION:1', '#EXT-X-MEDIA-SEQUENCE:1'];
    for (let n = 1; n <= count; n++) {
      writeFileSync(join(dir, seg(r, n)), Buffer.alloc(r === 'high' ? 2000 : 500, n));
      list.push('#EXTINF:1.0,', seg(r, n));
    }
    writeFileSync(join(dir, `${r}.m3u8`), `${list.join('\n')}\n`);
  }
  writeFileSync(join(dir, 'index.m3u8'), `${master.join('\n')}\n`);
}

describe('HLS edge over a rendition ladder', () => {
  const root = mkdtempSync(join(tmpdir(), 'persecond-edge-ladder-'));
  const tokens = new HlsTokens(SECRET, 60_000);
  let server: HlsEdgeServer;
  let base: string;
  const fetchAs = async (session: string, file: string) => {
    const res = await fetch(`${base}/hls/${STREAM}/${file}?token=${encodeURIComponent(tokens.issue(STREAM, session))}`);
    const body = Buffer.from(await res.arrayBuffer());
    return { status: res.status, body };
  };

  beforeAll(async () => {
    writeLadder(root, 30);
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
    rmSync(root, { recursive: true, force: true });
  });

  it("serves the master, every rendition's playlist and segments to an allowed session, and none to others", async () => {
    const session = 'session-ladder-serve';
    server.sessions.allow(session, STREAM);
    const master = await fetchAs(session, 'index.m3u8');
    expect(master.status).toBe(200);
    expect(master.body.toString()).toContain('low.m3u8');
    for (const r of RENDITIONS) {
      expect((await fetchAs(session, `${r}.m3u8`)).status).toBe(200);
      const s = await fetchAs(session, seg(r, 1));
      expect(s.status).toBe(200);
      expect(s.body.length).toBe(r === 'high' ? 2000 : 500);
    }
    // The same rules for every rendition: unknown sessions 401, paused ones 402, missing files 404.
    for (const file of ['index.m3u8', 'low.m3u8', seg('low', 2), seg('high', 2)]) {
      expect((await fetchAs('session-ladder-unknown', file)).status, file).toBe(401);
    }
    server.sessions.deny(session, 'voucher-lag');
    for (const file of ['index.m3u8', 'high.m3u8', seg('low', 3)])
      expect((await fetchAs(session, file)).status).toBe(402);
    server.sessions.allow(session, STREAM);
    expect((await fetchAs(session, 'mid.m3u8')).status).toBe(404);
    expect((await fetchAs(session, seg('low', 99))).status).toBe(404);
    server.sessions.deny(session);
  });

  it('charges segment N once when it is fetched in both renditions; a re-fetch in the same rendition again', async () => {
    const session = 'session-ladder-charge';
    server.sessions.allow(session, STREAM);
    server.sessions.drain();
    // An ABR switch: segments 1–2 in high, 2–3 in low (2 twice, in two renditions), 3 in high too.
    for (const file of [seg('high', 1), seg('high', 2), seg('low', 2), seg('low', 3), seg('high', 3)]) {
      expect((await fetchAs(session, file)).status, file).toBe(200);
    }
    expect(server.sessions.drain()).toEqual({ [session]: 3 * SEGMENT_SECONDS });
    // Both renditions' segment 4: one second.
    expect((await fetchAs(session, seg('low', 4))).status).toBe(200);
    expect((await fetchAs(session, seg('high', 4))).status).toBe(200);
    expect(server.sessions.drain()).toEqual({ [session]: SEGMENT_SECONDS });
    // The same rendition's segment again (a retry, or a second player on the token): charged again, as before ladders.
    expect((await fetchAs(session, seg('low', 4))).status).toBe(200);
    expect(server.sessions.drain()).toEqual({ [session]: SEGMENT_SECONDS });
    server.sessions.deny(session);
  });

  it('counts every rendition against one bucket: fetching all renditions at once is refused at the same capacity', async () => {
    const session = 'session-ladder-burst';
    server.sessions.allow(session, STREAM);
    server.sessions.drain();
    server.policy.drainLimited();
    const capacity = server.policy.capacity;
    expect(capacity).toBe(6 * SEGMENT_SECONDS + 2);
    // A cheater takes every segment in both renditions, back to back: 60 fetches, 30 media seconds.
    const served: string[] = [];
    const statuses: number[] = [];
    const startedAt = Date.now();
    for (let n = 1; n <= 30; n++) {
      for (const r of RENDITIONS) {
        const res = await fetchAs(session, seg(r, n));
        statuses.push(res.status);
        if (res.status === 200) served.push(seg(r, n));
      }
    }
    const elapsed = (Date.now() - startedAt) / 1000;
    // Served in all renditions together: at most capacity + the seconds elapsed (one player's worth), not per rendition.
    expect(served.length * SEGMENT_SECONDS).toBeLessThanOrEqual(capacity + elapsed);
    expect(served.length).toBeGreaterThanOrEqual(capacity);
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    // Charged once per media second served, whichever renditions carried it.
    const seconds = new Set(served.map((f) => f.replace(/^[a-z]+_/, ''))).size * SEGMENT_SECONDS;
    expect(server.sessions.drain()).toEqual({ [session]: seconds });
    expect(server.policy.drainLimited()).toEqual({ [session]: 60 - served.length });
    server.sessions.deny(session);
  });
});

describe('DeliveredSegments', () => {
  it('charges a sequence number once across renditions, again in the same one, and forgets the oldest past 64', () => {
    const d = new DeliveredSegments();
    expect([d.note('high', 1), d.note('low', 1), d.note('low', 1), d.note('high', 1)]).toEqual([
      true,
      false,
      true,
      true,
    ]);
    for (let n = 2; n <= 65; n++) expect(d.note('high', n)).toBe(true);
    // 65 numbers seen: the oldest (1) is forgotten, so it counts as new again (charged, never less than before).
    expect(d.note('mid', 1)).toBe(true);
    expect(d.note('low', 65)).toBe(false);
  });
});
