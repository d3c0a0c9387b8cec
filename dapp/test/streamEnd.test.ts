// The end of a recorded stream in real Chromium on the stack as `npm start` runs it (recording on, as it is by default
// outside the tests): Alice goes live from the studio, Bob funds and watches, Alice ends the stream. Bob's page says the
// stream ended, what he watched and paid and that the rest is back (equal to the chain's events of his session), offers
// no funding, and offers the replay once it is ready (a link to /replay/<id>, as GET /v1/streams/:id/replay says);
// Alice's summary shows the stream's duration, audience, earnings and tips as the ledger and the chain say, and her
// replay once ready.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchSharedBrowser, openApp, type SharedBrowser, WEBRTC_ARGS } from './support/browser.ts';
import { headNumber, protocolEvents } from './support/chainEvents.ts';
import { endedFigures, newestSessionMoves, streamSettled } from './support/endOfStream.ts';
import { buildInjectedWallet } from './support/injectedWallet.ts';
import { expectNoPageErrors, reportPages, stopAtFirstFailure } from './support/pageFailures.ts';
import { connectWallet, goLive, type Person, person, signIn } from './support/people.ts';
import { type Stack, startStack } from './support/stack.ts';

const resultsDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-results', 'stream-end');
const TITLE = 'Ends with a replay';
/** The studio's default price: 0.001 ROC per second. */
const PRICE = 1_000_000_000n;

/** The DEV-only hook the watch page exposes (`globalThis.__persecondWatch`). */
interface WatchHook {
  __persecondWatch?: { watchedSeconds: number };
}

describe('the end of a recorded stream, for its viewer and its creator', () => {
  let stack: Stack | undefined;
  let browser: SharedBrowser | undefined;
  let bundle: Awaited<ReturnType<typeof buildInjectedWallet>> | undefined;
  let api: ApiPromise | undefined;
  let alice: Person;
  let bob: Person;
  let firstBlock = 0;
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  stopAtFirstFailure(async () => {
    const people = [alice, bob].filter((p): p is Person => p !== undefined);
    await reportPages(resultsDir, people, stack?.output() ?? '');
  });

  beforeAll(async () => {
    mkdirSync(resultsDir, { recursive: true });
    await cryptoWaitReady();
    // Recording on (the tests turn it off by default), one rendition: what a replay needs, at the least encoding cost.
    [stack, bundle, browser] = await Promise.all([
      startStack({ env: { SFU_NUM_WORKERS: '1', RECORDING: 'on', HLS_LADDER: 'high:720:2500' } }),
      buildInjectedWallet(),
      launchSharedBrowser(WEBRTC_ARGS),
    ]);
    api = await ApiPromise.create({ provider: new WsProvider(stack.chain), noInitWarn: true });
    firstBlock = (await headNumber(api)) + 1;
    const b = browser;
    const wallet = bundle.path;
    [alice, bob] = await Promise.all([
      b.newContext({ viewport: { width: 375, height: 800 } }).then((c) => person(c, wallet, '//Alice')),
      b.newContext().then((c) => person(c, wallet, '//Bob')),
    ]);
  }, 420_000);

  afterAll(async () => {
    await browser?.close();
    await api?.disconnect();
    await stack?.close();
    bundle?.dispose();
  });

  it('shows Bob what he paid and got back and offers the replay; shows Alice her summary and replay', {
    timeout: 360_000,
  }, async () => {
    if (!stack || !api) throw new Error('not started');
    const streamId = await goLive(alice, stack.dapp, TITLE);
    const { page } = bob;
    await openApp(page, `${stack.dapp}/watch/${streamId}`);
    await connectWallet(bob);
    await signIn(bob);
    await expect.poll(() => page.getByTestId('budget').inputValue(), { timeout: 20_000 }).not.toBe('');
    await page.getByTestId('watch').click();
    const watched = () => page.evaluate(() => (globalThis as WatchHook).__persecondWatch?.watchedSeconds ?? 0);
    await expect.poll(watched, { timeout: 90_000, interval: 1_000 }).toBeGreaterThanOrEqual(4);

    await alice.page.getByTestId('end-stream').click();
    // Bob: the seconds from the server's ledger, the amounts from his final settlement's chain events.
    const bobSaw = await endedFigures(page);
    expect(bobSaw.text).toMatch(
      /You watched .+ and paid [0-9.]+ ROC; the rest \([0-9.]+ ROC\) is back in your wallet\./,
    );
    const moves = newestSessionMoves(await protocolEvents(api, firstBlock), keyring.addFromUri('//Bob').address);
    expect(moves).toEqual({ sessions: 1, paid: bobSaw.paid, refunds: [bobSaw.refunded] });
    expect(bobSaw.paid).toBe(BigInt(bobSaw.seconds) * PRICE);
    expect(bobSaw.seconds).toBeGreaterThanOrEqual(4);
    // Nothing to fund on an ended stream.
    expect([await page.getByTestId('watch').count(), await page.getByTestId('budget').count()]).toEqual([0, 0]);
    // The replay, once the server says it is ready (seconds after the end).
    const offer = page.getByTestId('replay-offer');
    await expect.poll(() => offer.getAttribute('data-status'), { timeout: 60_000, interval: 500 }).toBe('ready');
    const replay = (await (await fetch(`${stack.signaling}/v1/streams/${streamId}/replay`)).json()) as {
      replay: { status: string; durationSeconds: number };
    };
    expect(replay.replay.status).toBe('ready');
    expect(await offer.getByTestId('replay-link').getAttribute('href')).toBe(`/replay/${streamId}`);
    await page.screenshot({ path: join(resultsDir, 'watch-ended.png'), fullPage: true });

    // Alice: the summary follows the last payments until its settled figure is the chain's.
    const summary = alice.page.getByTestId('stream-summary');
    const figure = (id: string, attr = 'data-planck') => summary.getByTestId(id).getAttribute(attr);
    const settled = streamSettled(await protocolEvents(api, firstBlock), streamId);
    expect(settled).toBe(bobSaw.paid);
    await expect.poll(() => figure('summary-settled'), { timeout: 90_000, interval: 1_000 }).toBe(settled.toString());
    expect(BigInt((await figure('summary-earned')) ?? '')).toBe(
      settled + BigInt((await figure('summary-unsettled')) ?? ''),
    );
    expect(await figure('summary-unsettled')).toBe('0');
    expect(await figure('summary-tips')).toBe('0');
    expect(await summary.getByTestId('summary-unique').textContent()).toBe('1');
    expect(await summary.getByTestId('summary-peak').textContent()).toBe('1');
    const duration = Number(await figure('summary-duration', 'data-seconds'));
    expect(duration).toBeGreaterThanOrEqual(bobSaw.seconds);
    // The recording holds media of this stream: some, and no more than it was live (a segment's rounding aside).
    expect(replay.replay.durationSeconds).toBeGreaterThan(0);
    expect(replay.replay.durationSeconds).toBeLessThanOrEqual(duration + 2);
    // Her replay, below the summary (the studio's replay panel), once ready.
    await alice.page.locator('[data-testid=studio-replay][data-status=ready]').waitFor({ timeout: 30_000 });
    expect(await alice.page.getByTestId('studio-replay-link').getAttribute('href')).toBe(`/replay/${streamId}`);
    await alice.page.screenshot({ path: join(resultsDir, 'studio-summary-375.png'), fullPage: true });

    // Opening the ended stream afresh: it says so, offers the replay and no funding.
    await openApp(page, `${stack.dapp}/watch/${streamId}`);
    await page.getByTestId('stream-ended').waitFor({ timeout: 30_000 });
    await expect.poll(() => offer.getAttribute('data-status'), { timeout: 30_000, interval: 500 }).toBe('ready');
    expect([await page.getByTestId('watch').count(), await page.getByTestId('budget').count()]).toEqual([0, 0]);
    expectNoPageErrors([alice, bob]);
  });
});
