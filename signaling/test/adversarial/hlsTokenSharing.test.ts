// A paying HLS viewer hands its token to three more players: together they are served one player's worth (at most
// the seconds elapsed + the session's capacity), the rest is refused 429 LIMIT_REACHED, and the session is charged
// every second served. Real stack: dev chain, mediasoup, ffmpeg, the HLS edge child; players are plain HTTP clients.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sessionCapacity } from '../../src/hlsEdge/FetchPolicy.ts';
import type { LiveStream } from '../support/liveStream.ts';
import { callOk } from '../viewers-support.ts';
import { expectChargedExactly, joinHlsPayer } from './hlsPayer.ts';
import { liveStreamOf, NO_SETTLEMENT_ENV } from './viewerAttacks.ts';

const PRICE = 1_000_000n;
const SEGMENT_SECONDS = 1;
const PLAYERS = 4;
/** How long the players pull at the shared token. */
const ATTACK_MS = 20_000;

/** What the players were answered, over all of them. */
interface Outcomes {
  /** Segments served (200). */
  served: number;
  /** Segment fetches refused, with their status, code and Retry-After. */
  refused: { status: number; code: unknown; retryAfter: string | null }[];
  /** Other answers to segment fetches (e.g. 404 for a segment deleted meanwhile). */
  other: number[];
}

/**
 * A plain HTTP player on the live edge, as a token thief would write it: reads the playlist with the shared token and
 * fetches each listed segment it does not have yet (a refused one again on the next round), until `until`.
 */
async function play(playlistUrl: string, token: () => string, until: number, out: Outcomes): Promise<void> {
  const have = new Set<string>();
  while (Date.now() < until) {
    const list = await fetch(`${playlistUrl}?token=${encodeURIComponent(token())}`);
    const text = await list.text();
    if (list.status === 200) {
      for (const file of text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'))) {
        if (have.has(file) || Date.now() >= until) continue;
        const res = await fetch(`${playlistUrl.replace(/[^/]+$/, file)}?token=${encodeURIComponent(token())}`);
        if (res.status === 200) {
          await res.arrayBuffer();
          have.add(file);
          out.served++;
        } else if (res.status === 429) {
          const body = (await res.json()) as { code?: unknown };
          out.refused.push({ status: res.status, code: body.code, retryAfter: res.headers.get('retry-after') });
        } else {
          await res.arrayBuffer();
          out.other.push(res.status);
        }
      }
    }
    await sleep(200);
  }
}

describe("an HLS token shared with other players is worth one player's media, all of it charged", () => {
  let live: LiveStream;
  let streamId: string;

  beforeAll(async () => {
    // No settlement needed within the test; vouchers acknowledged as ticks come.
    ({ live, streamId } = await liveStreamOf('HLS token sharing', PRICE, {
      sfuEnv: { HLS_SEGMENT_SECONDS: String(SEGMENT_SECONDS) },
      viewersEnv: NO_SETTLEMENT_ENV,
    }));
  });

  afterAll(async () => {
    await live?.close();
  });

  it('serves four players on one token at most elapsed + capacity seconds, refuses the rest 429, charges all served', async () => {
    const { socket, payer, playlistUrl } = await joinHlsPayer(live, streamId);
    const token = () => payer.hlsToken as string;

    // The relay needs a few seconds for its first segments; playlists spend nothing.
    await vi.waitFor(
      async () => {
        const res = await fetch(`${playlistUrl}?token=${encodeURIComponent(token())}`);
        expect((await res.text()).match(/\.ts$/gm)?.length ?? 0).toBeGreaterThanOrEqual(2);
      },
      { timeout: 60_000, interval: 500 },
    );

    const out: Outcomes = { served: 0, refused: [], other: [] };
    // Every decision of the edge falls between these two instants: its bucket cannot have refilled for longer.
    const startedAt = Date.now();
    await Promise.all(Array.from({ length: PLAYERS }, () => play(playlistUrl, token, startedAt + ATTACK_MS, out)));
    const elapsedSeconds = (Date.now() - startedAt) / 1000;

    const capacity = sessionCapacity(SEGMENT_SECONDS);
    const servedSeconds = out.served * SEGMENT_SECONDS;
    // One player's worth for all four together: never more than the seconds elapsed + one capacity.
    expect(servedSeconds).toBeLessThanOrEqual(elapsedSeconds + capacity);
    // Without the limit each of the four would have had the live stream: most of their fetches were refused.
    expect(out.refused.length).toBeGreaterThan(out.served);
    for (const r of out.refused) {
      expect(r).toMatchObject({ status: 429, code: 'LIMIT_REACHED' });
      expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
    }
    // Only segments the relay had deleted since the playlist was read may be missing.
    expect(out.other.filter((s) => s !== 404)).toEqual([]);

    // Every second served is reported by the edge and metered on the session: as many seconds as were delivered.
    await expectChargedExactly(live, payer, { seconds: servedSeconds, price: PRICE, limited: out.refused.length });
    await callOk(socket, 'viewer:leave', {});
  });
});
