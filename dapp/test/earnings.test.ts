// The earnings page in real Chromium on the stack as `npm start` runs it (dev chain, signaling pinning the stream
// metadata, the indexer following the chain and fetching that metadata through signaling's gateway). Alice creates two
// streams (titles pinned by signaling, announced on chain); viewers' session accounts pay her live (`ps1:pay`) and for
// a replay (`ps1:replay`) and Charlie tips her, all signed transactions on the dev chain. Her earnings page then shows
// every payment final within seconds of the last one landing with no block built after it, each kind (live, replays,
// tips) equal to the chain's events, the streams by their titles, one hourly bar per hour of the day (24 × 1 h, 7 days
// hourly, 30 days daily), and its CSV equals the indexer API's answer.
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildAnnouncement,
  buildFinalSettlement,
  buildFunding,
  buildSettlement,
  buildTip,
  createSessionKey,
  type SessionKind,
  sessionKeyPair,
  type Tx,
  TxSubmitter,
  txContext,
} from '@persecond/contracts-client';
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import { stringToU8a, u8aToHex, u8aWrapBytes } from '@polkadot/util';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp } from './support/browser.ts';
import { headNumber, protocolEvents } from './support/chainEvents.ts';
import { expectNoPageErrors, stopAtFirstFailure } from './support/pageFailures.ts';
import { type Stage, setStage } from './support/stage.ts';

const resultsDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-results', 'earnings');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const KINDS = ['live', 'replay', 'tip'] as const;
type Kind = (typeof KINDS)[number];
const TITLES = ['Sourdough from scratch', 'Night market walk'] as const;

/** A JSON request to signaling (bearer token when given). */
async function signalingJson(url: string, body?: unknown, token?: string): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok || json.ok === false) throw new Error(`${url}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** Signs in to signaling as `pair` (SIWS, signed as wallet extensions sign) and answers the session token. */
async function signInAs(base: string, pair: KeyringPair): Promise<string> {
  const { message } = (await signalingJson(`${base}/v1/auth/nonce`, { address: pair.address })) as { message: string };
  const signature = u8aToHex(pair.sign(u8aWrapBytes(stringToU8a(message))));
  return (await signalingJson(`${base}/v1/auth/verify`, { message, signature })).token as string;
}

/** A RFC 4180 reader for the page's CSV (quoted cells, CRLF rows). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  return rows;
}

interface PendingFinal {
  pending: string;
  final: string;
}
interface StreamEntry extends PendingFinal {
  streamId: string;
  title: string | null;
  asset: string;
  kinds: Record<Kind, PendingFinal>;
}

describe('the earnings page', () => {
  let stage: Stage | undefined;
  let page: Page;
  const streamIds: string[] = [];
  /** What the chain says Alice earned, per stream and kind (planck), from the decoded protocol events. */
  const earned = new Map<string, Record<Kind, bigint>>();
  let lastBlock = 0;
  let landedAt = 0;

  stopAtFirstFailure(async () => {
    await stage?.report(resultsDir);
  });

  beforeAll(async () => {
    mkdirSync(resultsDir, { recursive: true });
    stage = await setStage(['Alice']);
    page = stage.people.Alice!.page;
  }, 400_000);

  afterAll(async () => {
    await stage?.close();
  });

  it('Alice creates two streams and is paid for them live, for a replay and with a tip, on chain', {
    timeout: 300_000,
  }, async () => {
    if (!stage) throw new Error('not started');
    const { api, stack } = stage;
    const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
    const [alice, bob, charlie] = ['Alice', 'Bob', 'Charlie'].map((n) => keyring.addFromUri(`//${n}`)) as [
      KeyringPair,
      KeyringPair,
      KeyringPair,
    ];
    // Her earnings page is open before anything is paid: it follows the indexer by itself from here on.
    await openApp(page, `${stack.dapp}/earnings`);
    await page.getByTestId('creator-address').fill(alice.address);
    await page.getByText('No earnings in this period yet.').waitFor({ timeout: 60_000 });
    const chain = txContext(api);
    const submitter = new TxSubmitter(api);
    const landed = async (tx: Tx, signer: KeyringPair) => {
      const r = await submitter.submit(tx, signer);
      if (!r.ok) throw new Error(`transaction failed: ${r.status} ${r.error.section}.${r.error.name}`);
      return r;
    };

    // Signaling pins each stream's metadata (its title) and answers the announcement; Alice signs it.
    const token = await signInAs(stack.signaling, alice);
    for (const title of TITLES) {
      const created = await signalingJson(
        `${stack.signaling}/v1/streams`,
        { title, description: '', pricePerSecond: '1000000000', asset: 'native' },
        token,
      );
      const streamId = created.streamId as string;
      await landed(buildAnnouncement(chain, { streamId, metadataCid: created.metadataCid as string }), alice);
      streamIds.push(streamId);
    }
    const [first, second] = streamIds as [string, string];

    // Bob funds three sessions (live on each stream, and a replay of the first); each pays Alice in turn.
    const sessions = (
      [
        [first, 'live', 'earn-live-1'],
        [second, 'live', 'earn-live-2'],
        [first, 'replay', 'earn-replay-1'],
      ] as const
    ).map(([streamId, kind, sessionId]) => ({
      streamId,
      kind,
      sessionId,
      pair: sessionKeyPair(createSessionKey(42), 42),
    }));
    for (const s of sessions) {
      await landed(
        buildFunding(chain, {
          sessionId: s.sessionId,
          sessionAccount: s.pair.address,
          asset: 'native',
          budget: 10n ** 13n,
        }),
        bob,
      );
    }
    const pay = (s: (typeof sessions)[number], kind: SessionKind, seq: number, amount: bigint) =>
      landed(
        buildSettlement(chain, {
          kind,
          streamId: s.streamId,
          sessionId: s.sessionId,
          seq,
          creator: alice.address,
          asset: 'native',
          amount,
        }),
        s.pair,
      );
    const [live1, live2, replay1] = sessions as [
      (typeof sessions)[number],
      (typeof sessions)[number],
      (typeof sessions)[number],
    ];
    await pay(live1, 'live', 30, 30_000_000_007n);
    await pay(live2, 'live', 12, 12_000_000_011n);
    await pay(replay1, 'replay', 17, 17_000_000_013n);
    await landed(
      buildTip(chain, {
        creator: alice.address,
        streamId: first,
        messageId: 'earnings-tip',
        asset: 'native',
        amount: 5_000_000_017n,
      }),
      charlie,
    );
    await pay(live1, 'live', 45, 15_000_000_019n);
    // The replay's final settlement (`ps1:replay`) and the sweep back to Bob: the last transaction of the test.
    const final = await landed(
      await buildFinalSettlement(chain, {
        kind: 'replay',
        streamId: first,
        sessionId: replay1.sessionId,
        seq: 20,
        creator: alice.address,
        asset: 'native',
        amount: 3_000_000_023n,
        sessionAccount: replay1.pair.address,
        wallet: bob.address,
      }),
      replay1.pair,
    );
    landedAt = performance.now();
    lastBlock = (await api.rpc.chain.getHeader(final.blockHash)).number.toNumber();

    // What Alice earned by the chain's own events (the transfers' amounts, decoded): per stream and kind.
    for (const e of await protocolEvents(api, stage.firstBlock)) {
      if ((e.type !== 'settlement' && e.type !== 'tip') || e.creator !== alice.address) continue;
      const kind: Kind = e.type === 'tip' ? 'tip' : e.sessionKind;
      const entry = earned.get(e.streamId) ?? { live: 0n, replay: 0n, tip: 0n };
      entry[kind] += e.amount;
      earned.set(e.streamId, entry);
    }
    expect([...earned.keys()].sort()).toEqual([...streamIds].sort());
    expect(earned.get(first)).toEqual({ live: 45_000_000_026n, replay: 20_000_000_036n, tip: 5_000_000_017n });
    expect(earned.get(second)).toEqual({ live: 12_000_000_011n, replay: 0n, tip: 0n });
  });

  it('shows every kind final within seconds of the last payment, with no block built after it, by stream title', {
    timeout: 180_000,
  }, async () => {
    if (!stage) throw new Error('not started');
    const alice = stage.people.Alice!;
    const totals = page.getByTestId('earnings-totals');
    const sum = (k: Kind) => [...earned.values()].reduce((s, e) => s + e[k], 0n).toString();
    /** What the page shows in its totals: final and pending, per kind and in all (planck from data attributes). */
    const shown = async () => {
      if ((await page.getByTestId('total-final').count()) === 0) return undefined;
      const planck = (id: string) => totals.getByTestId(id).getAttribute('data-planck');
      const out: Record<string, string | null> = {
        final: await planck('total-final'),
        pending: await planck('total-pending'),
      };
      for (const k of KINDS) {
        out[`${k}-final`] = await planck(`total-${k}-final`);
        out[`${k}-pending`] = await planck(`total-${k}-pending`);
      }
      return out;
    };
    const allFinal = {
      final: KINDS.reduce((s, k) => s + BigInt(sum(k)), 0n).toString(),
      pending: '0',
      'live-final': sum('live'),
      'live-pending': '0',
      'replay-final': sum('replay'),
      'replay-pending': '0',
      'tip-final': sum('tip'),
      'tip-pending': '0',
    };
    // The page follows the indexer's heads on its own: no click, no new block.
    await expect.poll(shown, { timeout: 120_000, interval: 250 }).toEqual(allFinal);
    const seconds = (performance.now() - landedAt) / 1000;
    console.log(`earnings final on the page ${seconds.toFixed(1)} s after the last payment landed`);
    // Nothing was built after the last payment's block: finality came from that block itself.
    expect(await headNumber(stage.api)).toBe(lastBlock);
    const status = (await (await fetch(`${stage.stack.indexer}/v1/status`)).json()) as {
      finalizedHead: { number: number };
      finalizedLag: number;
    };
    expect(status.finalizedHead.number).toBe(lastBlock);
    expect(status.finalizedLag).toBe(0);

    // Each stream by its title (from the metadata signaling pinned, fetched by the indexer), each kind in its column.
    const table = page.getByTestId('earnings-table');
    for (const [i, streamId] of streamIds.entries()) {
      const row = table.locator(`tr[data-stream-id="${streamId}"]`);
      await expect.poll(() => row.getByTestId('stream-title').textContent(), { timeout: 60_000 }).toBe(TITLES[i]);
      const e = earned.get(streamId)!;
      for (const k of KINDS) {
        expect(await row.getByTestId(`stream-${k}-final`).getAttribute('data-planck'), `${streamId} ${k}`).toBe(
          e[k].toString(),
        );
        expect(await row.getByTestId(`stream-${k}-pending`).getAttribute('data-planck')).toBe('0');
      }
    }
    await page.screenshot({ path: join(resultsDir, 'earnings-final.png'), fullPage: true });
    expectNoPageErrors([alice]);
  });

  it('draws one bar per hour across the day and the week, one per day across 30 days, each kind in its bucket', {
    timeout: 120_000,
  }, async () => {
    if (!stage) throw new Error('not started');
    /** The chart's bars as drawn: each bucket's start and each kind's planck (final + pending). */
    const bars = async () => {
      const data = await page
        .getByTestId('earnings-bar')
        .evaluateAll((els) => els.map((el) => ({ ...(el as unknown as { dataset: Record<string, string> }).dataset })));
      const both = (d: Record<string, string>, k: Kind) =>
        BigInt(d[`${k}Final`] ?? 'x') + BigInt(d[`${k}Pending`] ?? 'x');
      return data.map((d) => ({
        start: Date.parse(d.start ?? ''),
        live: both(d, 'live'),
        replay: both(d, 'replay'),
        tip: both(d, 'tip'),
      }));
    };
    const api = await fetch(
      `${stage.stack.indexer}/v1/creators/${encodeURIComponent(await page.getByTestId('creator-address').inputValue())}/earnings?bucket=hour&from=${Date.now() - 2 * DAY}&to=${Date.now() + DAY}`,
    ).then(
      (r) => r.json() as Promise<{ buckets: { start: string; totals: { kinds: Record<Kind, PendingFinal> }[] }[] }>,
    );
    for (const [key, size, count] of [
      ['24h', HOUR, 24],
      ['7d', HOUR, 7 * 24],
      ['30d', DAY, 30],
    ] as const) {
      await page.getByTestId('earnings-period').selectOption(key);
      await expect
        .poll(() => page.getByTestId('earnings-chart').getAttribute('data-bucket'))
        .toBe(size === HOUR ? 'hour' : 'day');
      await expect.poll(async () => (await bars()).length >= count, { timeout: 30_000 }).toBe(true);
      const shown = await bars();
      // Consecutive buckets of exactly one hour (or day) from `count - 1` buckets before the current one: never one
      // bar for the whole period.
      for (let i = 1; i < shown.length; i++) expect(shown[i]!.start - shown[i - 1]!.start).toBe(size);
      const current = Math.floor(Date.now() / size) * size;
      // (An hour may have turned since the page asked.)
      expect([current - (count - 1) * size, current - count * size]).toContain(shown[0]!.start);
      // Block times may run ahead of this clock (the dev chain's do): bars after the current bucket only up to the
      // last one with earnings.
      const last = shown.at(-1)!;
      if (last.start > current) expect(last.live + last.replay + last.tip).toBeGreaterThan(0n);
      for (const k of KINDS) {
        const total = shown.reduce((s, b) => s + b[k], 0n);
        expect(total.toString(), `${key} ${k}`).toBe([...earned.values()].reduce((s, e) => s + e[k], 0n).toString());
      }
      if (size === HOUR) {
        // Each hourly bar holds what the API says that hour holds.
        for (const b of api.buckets) {
          const bar = shown.find((s) => s.start === Date.parse(b.start));
          expect(bar, b.start).toBeDefined();
          for (const k of KINDS) {
            const kinds = b.totals[0]!.kinds[k];
            expect(bar![k]).toBe(BigInt(kinds.final) + BigInt(kinds.pending));
          }
        }
      }
      await page.screenshot({ path: join(resultsDir, `earnings-${key}.png`), fullPage: true });
    }
  });

  it('exports a CSV equal to the indexer API’s answer, stream by stream', { timeout: 60_000 }, async () => {
    if (!stage) throw new Error('not started');
    await page.getByTestId('earnings-period').selectOption('24h');
    await expect.poll(() => page.getByTestId('earnings-chart').getAttribute('data-bucket')).toBe('hour');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('csv-export').click()]);
    const path = join(resultsDir, 'earnings.csv');
    await download.saveAs(path);
    const [header, ...rows] = parseCsv(readFileSync(path, 'utf8'));
    const creator = await page.getByTestId('creator-address').inputValue();
    const answer = (await (
      await fetch(
        `${stage.stack.indexer}/v1/creators/${encodeURIComponent(creator)}/earnings?bucket=hour&from=${Date.now() - DAY}&to=${Date.now() + DAY}`,
      )
    ).json()) as { streams: StreamEntry[] };
    const col = (row: string[], name: string) => row[header!.indexOf(name)];
    expect(rows).toHaveLength(answer.streams.length);
    expect(answer.streams.map((s) => s.streamId).sort()).toEqual([...streamIds].sort());
    for (const s of answer.streams) {
      const row = rows.find((r) => col(r, 'stream_id') === s.streamId && col(r, 'asset') === s.asset);
      expect(row, s.streamId).toBeDefined();
      const fromCsv = {
        streamId: col(row!, 'stream_id'),
        title: col(row!, 'title') || null,
        asset: col(row!, 'asset'),
        pending: col(row!, 'pending_planck'),
        final: col(row!, 'final_planck'),
        kinds: Object.fromEntries(
          KINDS.map((k) => [k, { pending: col(row!, `${k}_pending_planck`), final: col(row!, `${k}_final_planck`) }]),
        ),
      };
      expect(fromCsv).toEqual(s);
    }
  });
});
