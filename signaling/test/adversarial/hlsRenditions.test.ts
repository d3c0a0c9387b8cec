// Issue 17 — the HLS ladder: a paying viewer's token is used to fetch every rendition of every segment as fast as the
// edge answers. Worst case (1-s segments, capacity 6 × 1 + 2 = 8 s): within t seconds the token is served at most
// t + 8 media seconds counting each rendition's copy, as with one rendition, so all renditions together are still
// one player's worth; and each distinct media second served is charged once, whichever renditions carried it.
// Real stack: dev chain, mediasoup, ffmpeg encoding the default ladder (high + low), the HLS edge child; the player
// is a plain HTTP client.
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_HLS_LADDER, parseHlsFileName } from '@persecond/sfu';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sessionCapacity } from '../../src/hlsEdge/FetchPolicy.ts';
import type { LiveStream } from '../support/liveStream.ts';
import { callOk } from '../viewers-support.ts';
import { expectChargedExactly, joinHlsPayer } from './hlsPayer.ts';
import { liveStreamOf, NO_SETTLEMENT_ENV } from './viewerAttacks.ts';

const PRICE = 1_000_000n;
const SEGMENT_SECONDS = 1;
/** How long the cheater pulls every rendition. */
const ATTACK_MS = 15_000;

const listed = (text: string) => text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));

/** What the edge answered the cheater's segment fetches. */
interface Outcomes {
  /** Segments served (200), by file name. */
  served: string[];
  refused: { status: number; code: unknown }[];
  other: number[];
}

/**
 * Reads the master playlist, then every rendition's playlist, and fetches each listed segment of every rendition it
 * does not have yet (a refused one again next round), until `until`.
 */
async function pullEveryRendition(masterUrl: string, token: string, until: number, out: Outcomes): Promise<void> {
  const q = `?token=${encodeURIComponent(token)}`;
  const url = (file: string) => `${masterUrl.replace(/[^/]+$/, file)}${q}`;
  const have = new Set<string>();
  while (Date.now() < until) {
    const master = await fetch(`${masterUrl}${q}`);
    const variants = master.status === 200 ? listed(await master.text()) : [];
    if (master.status !== 200) await master.arrayBuffer();
    for (const variant of variants) {
      const list = await fetch(url(variant));
      const files = list.status === 200 ? listed(await list.text()) : [];
      if (list.status !== 200) await list.arrayBuffer();
      for (const file of files) {
        if (have.has(file) || Date.now() >= until) continue;
        const res = await fetch(url(file));
        if (res.status === 200) {
          await res.arrayBuffer();
          have.add(file);
          out.served.push(file);
        } else if (res.status === 429) {
          out.refused.push({ status: res.status, code: ((await res.json()) as { code?: unknown }).code });
        } else {
          await res.arrayBuffer();
          out.other.push(res.status);
        }
      }
    }
    await sleep(100);
  }
}

describe('an HLS token pulling every rendition gets one player’s worth, each media second charged once', () => {
  let live: LiveStream;
  let streamId: string;

  beforeAll(async () => {
    ({ live, streamId } = await liveStreamOf('HLS ladder cheater', PRICE, {
      sfuEnv: { HLS_SEGMENT_SECONDS: String(SEGMENT_SECONDS), HLS_LADDER: DEFAULT_HLS_LADDER },
      viewersEnv: NO_SETTLEMENT_ENV,
    }));
  });

  afterAll(async () => {
    await live?.close();
  });

  it('serves all renditions together at most elapsed + capacity seconds and charges distinct seconds', async () => {
    const { socket, payer, playlistUrl: masterUrl, token } = await joinHlsPayer(live, streamId);

    // The master lists both renditions once the relay cut its first segments.
    await vi.waitFor(
      async () => {
        const master = await (await fetch(`${masterUrl}?token=${encodeURIComponent(token)}`)).text();
        expect(listed(master)).toEqual(['high.m3u8', 'low.m3u8']);
        const low = masterUrl.replace(/[^/]+$/, 'low.m3u8');
        const text = await (await fetch(`${low}?token=${encodeURIComponent(token)}`)).text();
        expect(text.match(/\.ts$/gm)?.length ?? 0).toBeGreaterThanOrEqual(2);
      },
      { timeout: 90_000, interval: 500 },
    );

    const out: Outcomes = { served: [], refused: [], other: [] };
    const startedAt = Date.now();
    await pullEveryRendition(masterUrl, token, startedAt + ATTACK_MS, out);
    const elapsedSeconds = (Date.now() - startedAt) / 1000;

    const capacity = sessionCapacity(SEGMENT_SECONDS);
    const servedSeconds = out.served.length * SEGMENT_SECONDS;
    const byRendition = (r: string) =>
      out.served.filter((f) => parseHlsFileName(f)?.kind === 'segment' && f.startsWith(`${r}_`));
    // It did take both renditions, and all of them together stayed within one player's worth.
    expect(byRendition('high').length).toBeGreaterThan(0);
    expect(byRendition('low').length).toBeGreaterThan(0);
    expect(servedSeconds).toBeLessThanOrEqual(elapsedSeconds + capacity);
    expect(out.refused.length).toBeGreaterThan(0);
    for (const r of out.refused) expect(r).toMatchObject({ status: 429, code: 'LIMIT_REACHED' });
    expect(out.other.filter((s) => s !== 404)).toEqual([]);

    // Charged: each distinct media second once (no segment was fetched twice in one rendition).
    const seqs = new Set(out.served.map((f) => (parseHlsFileName(f) as { seq: number }).seq));
    const chargedSeconds = seqs.size * SEGMENT_SECONDS;
    expect(chargedSeconds).toBeLessThan(servedSeconds);
    await expectChargedExactly(live, payer, { seconds: chargedSeconds, price: PRICE });
    await callOk(socket, 'viewer:leave', {});
  });
});
