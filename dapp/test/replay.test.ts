// Replays in real Chromium on the stack as `npm start` runs it (recording on, as by default): Alice streams with the
// fake camera until the node has recorded ~34 s, at a replay price of her own, and ends; the replay appears in her
// studio, on her channel page and in the directory's Replays. Bob funds and watches it with a seek forward and a seek
// back over seconds he saw: Alice receives exactly the distinct seconds the edge delivered × the replay price (chain
// transfers from his session account, whatever their remark). Bob watches again without paying and is paused with an
// explanation; Alice deletes the replay: his session is ended and paid, and the page, the lists and the edge refuse it.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchSharedBrowser, openApp, type SharedBrowser, WEBRTC_ARGS } from './support/browser.ts';
import { accountHex, headNumber, nativeMoves, total } from './support/chainEvents.ts';
import { buildInjectedWallet } from './support/injectedWallet.ts';
import { expectNoPageErrors, reportPages, stopAtFirstFailure } from './support/pageFailures.ts';
import { connectWallet, leaveWatch, mediaTime, type Person, person, signIn } from './support/people.ts';
import { type Stack, startStack } from './support/stack.ts';

const resultsDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-results', 'replay');
const TITLE = 'Replay journey';
/** The replay price Alice chooses: 0.002 ROC per second (the live price stays the studio's 0.001). */
const REPLAY_PRICE = 2_000_000_000n;
const LIVE_PRICE = 1_000_000_000n;
/** Seconds of media the node records before Alice ends (its own figure, `durationSeconds`). */
const RECORDED_SECONDS = 34;
/** Seconds one segment is charged for: the stack's HLS_SEGMENT_SECONDS (its default). */
const SEGMENT_SECONDS = 1;

/** The DEV-only hook the replay page exposes (`globalThis.__persecondWatch`, as the watch page). */
interface WatchHook {
  __persecondWatch?: {
    phase: string;
    watchedSeconds: number;
    owed: bigint;
    pending: bigint;
    sessionAccount?: string;
    final: { owed?: string; settled?: string; watchedSeconds?: number };
    stopSettlements(): void;
  };
}

/** What the node answers at `GET /v1/streams/:id/replay`. */
interface ReplayAnswer {
  replay?: {
    streamId: string;
    status: string;
    durationSeconds: number;
    pricePerSecond: string;
    createdAt: string;
  };
  code?: string;
  details?: { reason?: string };
}

/** A replay segment the edge answered: its number and the HTTP status. */
interface Fetched {
  seq: number;
  status: number;
  url: string;
}

const watchState = (page: Page) =>
  page.evaluate(() => {
    const w = (globalThis as WatchHook).__persecondWatch;
    return {
      phase: w?.phase ?? '',
      watchedSeconds: w?.watchedSeconds ?? 0,
      owed: String(w?.owed ?? 0n),
      sessionAccount: w?.sessionAccount ?? '',
      final: { ...(w?.final ?? {}) },
    };
  });

const seek = (page: Page, seconds: number) =>
  page.evaluate(`document.querySelector("[data-testid=player]").currentTime = ${seconds}`);

describe('replays on the stack as `npm start` runs it', () => {
  let stack: Stack | undefined;
  let browser: SharedBrowser | undefined;
  let bundle: Awaited<ReturnType<typeof buildInjectedWallet>> | undefined;
  let api: ApiPromise | undefined;
  let alice: Person;
  let bob: Person;
  let streamId = '';
  let firstBlock = 0;
  /** Every replay segment Bob's page was answered, in order. */
  const fetched: Fetched[] = [];
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  const aliceAddress = () => keyring.addFromUri('//Alice').address;
  stopAtFirstFailure(async () => {
    const people = [alice, bob].filter((p): p is Person => p !== undefined);
    await reportPages(resultsDir, people, stack?.output() ?? '');
  });
  const shot = (p: Person, name: string) =>
    p.page.screenshot({ path: join(resultsDir, `${name}.png`), fullPage: true });
  const replayInfo = async () => {
    const res = await fetch(`${stack?.signaling}/v1/streams/${streamId}/replay`);
    return { status: res.status, body: (await res.json()) as ReplayAnswer };
  };

  beforeAll(async () => {
    mkdirSync(resultsDir, { recursive: true });
    await cryptoWaitReady();
    [stack, bundle, browser] = await Promise.all([
      startStack({ env: { RECORDING: 'on', SFU_NUM_WORKERS: '1' } }),
      buildInjectedWallet(),
      launchSharedBrowser(WEBRTC_ARGS),
    ]);
    api = await ApiPromise.create({ provider: new WsProvider(stack.chain), noInitWarn: true });
    firstBlock = (await headNumber(api)) + 1;
    const b = browser;
    [alice, bob] = await Promise.all([
      b.newContext().then((c) => person(c, bundle?.path ?? '', '//Alice')),
      b.newContext().then((c) => person(c, bundle?.path ?? '', '//Bob')),
    ]);
    bob.page.on('response', (res) => {
      const m = /\/replay\/[^/]+\/[a-z0-9]+_(\d+)\.ts/.exec(res.url());
      if (m) fetched.push({ seq: Number(m[1]), status: res.status(), url: res.url() });
    });
  }, 420_000);

  afterAll(async () => {
    await browser?.close();
    await api?.disconnect();
    await stack?.close();
    bundle?.dispose();
  });

  it('Alice streams with recording on at her replay price and ends; the replay appears', {
    timeout: 240_000,
  }, async () => {
    if (!stack) throw new Error('not started');
    const { page } = alice;
    await openApp(page, `${stack.dapp}/studio`);
    await connectWallet(alice);
    await signIn(alice);
    await page.getByTestId('title').fill(TITLE);
    // Recording is on by default; the replay price is hers to choose (empty: the live price).
    expect(await page.getByTestId('record').isChecked()).toBe(true);
    await page.getByTestId('replay-price').fill('0.002');
    await page.getByTestId('open-camera').click();
    await page.waitForFunction('document.querySelector("[data-testid=preview]")?.videoWidth > 0', undefined, {
      timeout: 20_000,
    });
    await page.getByTestId('create').click();
    await page.locator('[data-testid=go-live]:enabled').click({ timeout: 60_000 });
    await page.locator('[data-testid=live-stats], [data-testid=studio-error]').first().waitFor({ timeout: 60_000 });
    streamId = (await page.getByTestId('live-stats').getAttribute('data-stream-id')) ?? '';
    expect(streamId).toMatch(/^[A-Za-z0-9_-]{8,64}$/);

    // While live: her channel shows the live stream, and the node says it is being recorded (not watchable yet).
    await openApp(bob.page, `${stack.dapp}/channel/${aliceAddress()}`);
    await bob.page.getByTestId('channel-live').getByText(TITLE).waitFor({ timeout: 30_000 });
    // The node's own figure decides when enough is recorded.
    await expect
      .poll(
        async () => {
          const { body } = await replayInfo();
          return body.replay?.status === 'recording' ? Number(body.replay.durationSeconds) : -1;
        },
        { timeout: 150_000, interval: 1_000 },
      )
      .toBeGreaterThanOrEqual(RECORDED_SECONDS);

    await page.getByTestId('end-stream').click();
    const studioReplay = page.getByTestId('studio-replay');
    await page.locator('[data-testid=studio-replay][data-status=ready]').waitFor({ timeout: 60_000 });
    expect(await studioReplay.textContent()).toContain('Your replay is ready');
    const { body } = await replayInfo();
    expect(body.replay).toMatchObject({
      streamId,
      title: TITLE,
      status: 'ready',
      pricePerSecond: REPLAY_PRICE.toString(),
      livePricePerSecond: LIVE_PRICE.toString(),
    });
    const recorded = body.replay;
    if (!recorded) throw new Error('no replay');
    expect(recorded.durationSeconds).toBeGreaterThanOrEqual(RECORDED_SECONDS);
    await shot(alice, 'studio-replay-ready');

    // Her channel lists it (title, duration, date, price); the directory's Replays too.
    const row = bob.page.locator(
      `[data-testid=channel-replays] [data-testid=replay-row][data-stream-id="${streamId}"]`,
    );
    await row.waitFor({ timeout: 30_000 });
    const text = (await row.textContent())?.replace(/\s+/g, ' ') ?? '';
    expect(text).toContain(TITLE);
    expect(text).toContain('0.002 ROC/s');
    expect(Number(await row.getByTestId('replay-duration').getAttribute('data-seconds'))).toBe(
      recorded.durationSeconds,
    );
    expect(await row.locator('time').getAttribute('datetime')).toBe(recorded.createdAt);
    // Bob is not the creator: no delete for him.
    expect(await row.getByTestId('delete-replay').count()).toBe(0);
    await shot(bob, 'channel');
    await openApp(bob.page, `${stack.dapp}/`);
    const listed = bob.page.locator(`[data-testid=replays-section] [data-stream-id="${streamId}"]`);
    await listed.waitFor({ timeout: 30_000 });
    await shot(bob, 'directory-replays');
  });

  it('Bob funds and watches with a seek forward and back: Alice receives the distinct seconds × the replay price', {
    timeout: 240_000,
  }, async () => {
    if (!stack || !api) throw new Error('not started');
    const { page } = bob;
    await page
      .locator(`[data-testid=replays-section] [data-stream-id="${streamId}"]`)
      .getByTestId('replay-link')
      .click();
    await page.waitForURL(`**/replay/${streamId}`);
    await connectWallet(bob);
    await signIn(bob);
    await expect.poll(() => page.getByTestId('budget').inputValue(), { timeout: 20_000 }).not.toBe('');
    await page.getByTestId('watch').click();
    // From the start: a few seconds played, then forward past what was fetched, then back over what he saw.
    await expect.poll(() => mediaTime(page), { timeout: 90_000, interval: 500 }).toBeGreaterThanOrEqual(6);
    await seek(page, 20);
    await expect.poll(() => mediaTime(page), { timeout: 60_000, interval: 500 }).toBeGreaterThanOrEqual(24);
    const beforeBack = fetched.length;
    await seek(page, 2);
    await expect
      .poll(() => mediaTime(page), { timeout: 60_000, interval: 500 })
      .toSatisfy((t: number) => t >= 6 && t < 20);
    await shot(bob, 'replay-watching');
    const { sessionAccount } = await watchState(page);
    expect(sessionAccount).not.toBe('');
    await leaveWatch(page);
    const { final, owed } = await watchState(page);

    // What the edge delivered: each number once charged, however often fetched.
    const delivered = fetched.filter((f) => f.status === 200);
    const distinct = new Set(delivered.map((f) => f.seq));
    const before = new Set(
      fetched
        .slice(0, beforeBack)
        .filter((f) => f.status === 200)
        .map((f) => f.seq),
    );
    const again = fetched.slice(beforeBack).filter((f) => f.status === 200 && before.has(f.seq));
    // Seconds seen before the seek back were fetched again (and the seek forward skipped some).
    expect(again.length, `segments ${[...distinct].sort((a, b) => a - b).join(',')}`).toBeGreaterThan(0);
    expect([15, 16].filter((seq) => distinct.has(seq))).toEqual([]);
    expect(delivered.length).toBeGreaterThan(distinct.size);
    const charged = distinct.size * SEGMENT_SECONDS;
    expect(final.watchedSeconds).toBe(charged);
    expect(final.owed).toBe((BigInt(charged) * REPLAY_PRICE).toString());
    expect(owed).toBe(final.owed);

    // The chain: every transfer from his session account to Alice, whatever its remark, sums to exactly that.
    const aliceKey = accountHex(aliceAddress());
    const session = accountHex(sessionAccount);
    const { transfers } = await nativeMoves(api, firstBlock);
    const paid = total(transfers.filter((t) => t.from === session && t.to === aliceKey));
    expect(paid).toBe(BigInt(charged) * REPLAY_PRICE);
    fetched.length = 0;
  });

  it('Bob watches again without paying: the replay pauses with an explanation', { timeout: 180_000 }, async () => {
    const { page } = bob;
    await page.evaluate(() => (globalThis as WatchHook).__persecondWatch?.stopSettlements());
    await page.getByTestId('watch').click();
    // Unsettled watching beyond the settle interval and grace (10 + 12 s of a 34 s replay) holds it, for good now.
    const overlay = page.getByTestId('payment-required');
    await page.getByTestId('pay-now').waitFor({ timeout: 90_000 });
    expect(await overlay.textContent()).toContain('Playback is paused: your payments to the creator are behind.');
    // What was delivered (and charged) before the hold plays out, then the player pauses there.
    await expect
      .poll(() => page.evaluate<boolean>('document.querySelector("[data-testid=player]").paused'), { timeout: 30_000 })
      .toBe(true);
    // Paused: the position stands still.
    const at = await mediaTime(page);
    await page.waitForTimeout(3_000);
    expect(await mediaTime(page)).toBe(at);
    expect(at).toBeLessThan(RECORDED_SECONDS - 2);
    await shot(bob, 'replay-paused');
  });

  it("Alice deletes the replay: Bob's session ends paid, and the page, the lists and the edge refuse it", {
    timeout: 240_000,
  }, async () => {
    if (!stack || !api) throw new Error('not started');
    const { page } = bob;
    const lastToken = [...fetched].reverse().find((f) => f.status === 200)?.url;
    const { sessionAccount } = await watchState(page);
    await alice.page.getByTestId('delete-replay').click();
    await alice.page.getByTestId('confirm-delete-replay').click();
    await alice.page.locator('[data-testid=studio-replay][data-status=none]').waitFor({ timeout: 30_000 });
    expect(await alice.page.getByTestId('studio-replay').textContent()).toContain('its creator deleted it');

    // Bob's page: told, his session paid for what the server metered, the rest swept back.
    const gone = page.getByTestId('replay-gone');
    await expect
      .poll(async () => ((await gone.count()) > 0 ? await gone.textContent() : ''), { timeout: 150_000 })
      .toContain('You paid for what you watched');
    const { final, owed } = await watchState(page);
    const aliceKey = accountHex(aliceAddress());
    const session = accountHex(sessionAccount);
    const { transfers } = await nativeMoves(api, firstBlock);
    expect(owed).toBe(final.owed);
    expect(total(transfers.filter((t) => t.from === session && t.to === aliceKey))).toBe(BigInt(owed));
    expect(BigInt(final.owed ?? '0')).toBeGreaterThan(20n * REPLAY_PRICE);
    expect(
      transfers.filter((t) => t.from === session && t.to === accountHex(keyring.addFromUri('//Bob').address)),
    ).toHaveLength(1);
    await shot(bob, 'replay-deleted-while-watching');

    // The node, the page, the channel and the directory no longer show it; the edge serves nothing of it.
    const { status, body } = await replayInfo();
    expect([status, body.code, body.details?.reason]).toEqual([404, 'STREAM_NOT_FOUND', 'deleted']);
    await openApp(page, `${stack.dapp}/replay/${streamId}`);
    await expect.poll(() => page.getByTestId('replay-gone').textContent(), { timeout: 30_000 }).toContain('deleted it');
    expect(await page.getByTestId('watch').count()).toBe(0);
    await openApp(page, `${stack.dapp}/channel/${aliceAddress()}`);
    await page.getByTestId('no-replays').waitFor({ timeout: 30_000 });
    expect(await page.locator(`[data-stream-id="${streamId}"]`).count()).toBe(0);
    expect(lastToken).toBeDefined();
    const edge = await fetch(lastToken ?? '');
    expect([401, 404]).toContain(edge.status);
    expectNoPageErrors([alice, bob]);
  });
});
