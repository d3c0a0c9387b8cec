// The whole journey in real Chromium on the stack as `npm start` starts it: Alice goes live from the studio; Bob signs
// in, funds a budget, then watches over WebRTC, stops paying and is paused until he pays, leaves and gets his remainder
// back; Charlie is sent to HLS (WebRTC capacity of one viewer) and keeps playing past his token's life, and Bob's page
// counts him live; a wallet with no funds is told why it cannot watch; Dave's tab dies owing for what he watched:
// another browser is told what he owes and what to do, and back in the first one his budget carries on and pays it;
// Alice's earnings page shows exactly what the chain shows she received; Bob watches again and Alice ends the stream:
// his page tells what he watched, paid and got back, and her studio summarises the stream, both equal to the chain.
// Every person uses an injected extension wallet holding one dev keyring account (real clicks, real signatures).
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchSharedBrowser, openApp, type SharedBrowser, WEBRTC_ARGS } from './support/browser.ts';
import { accountHex, freeBalance, headNumber, nativeMoves, protocolEvents, total } from './support/chainEvents.ts';
import { endedFigures, newestSessionMoves, streamSettled } from './support/endOfStream.ts';
import { buildInjectedWallet } from './support/injectedWallet.ts';
import { collectPageProblems, expectNoPageErrors, reportPages, stopAtFirstFailure } from './support/pageFailures.ts';
import {
  connectWallet,
  expectNoSidewaysScroll,
  framesDecoded,
  goLive,
  leaveWatch,
  mediaTime,
  type Person,
  person,
  signIn,
} from './support/people.ts';
import { type Stack, startStack } from './support/stack.ts';

const resultsDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-results', 'journey');
const TITLE = 'Journey live';
/** The studio's default price: 0.001 ROC per second. */
const PRICE = 1_000_000_000n;
const NARROW = { width: 375, height: 800 };
/** An account nobody funded. */
const EMPTY_URI = '//PersecondEmptyWallet';

/** The DEV-only hook the watch page exposes (`globalThis.__persecondWatch`). */
interface WatchHook {
  __persecondWatch?: {
    watchedSeconds: number;
    owed: bigint;
    pending: bigint;
    mode?: string;
    stopSettlements(): void;
    refusal?: { code: string };
  };
}

describe('the journey on the stack as `npm start` runs it', () => {
  let stack: Stack | undefined;
  let browser: SharedBrowser | undefined;
  let bundle: Awaited<ReturnType<typeof buildInjectedWallet>> | undefined;
  let api: ApiPromise | undefined;
  let alice: Person;
  let bob: Person;
  let charlie: Person;
  let empty: Person;
  let dave: Person;
  let streamId = '';
  let firstBlock = 0;
  let bobBefore = 0n;
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  stopAtFirstFailure(async () => {
    const people = [alice, bob, charlie, empty, dave].filter((p): p is Person => p !== undefined);
    await reportPages(resultsDir, people, stack?.output() ?? '');
  });
  const shot = (p: Person, name: string) =>
    p.page.screenshot({ path: join(resultsDir, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    mkdirSync(resultsDir, { recursive: true });
    await cryptoWaitReady();
    // One mediasoup worker carrying 2 consumers: one WebRTC viewer (audio + video); the next `auto` viewer gets HLS.
    [stack, bundle, browser] = await Promise.all([
      startStack({ env: { SFU_NUM_WORKERS: '1', SFU_CONSUMERS_PER_WORKER: '2' } }),
      buildInjectedWallet(),
      launchSharedBrowser(WEBRTC_ARGS),
    ]);
    api = await ApiPromise.create({ provider: new WsProvider(stack.chain), noInitWarn: true });
    firstBlock = (await headNumber(api)) + 1;
    const b = browser;
    const wallet = bundle.path;
    [alice, bob, charlie, empty, dave] = await Promise.all([
      b.newContext({ viewport: NARROW }).then((c) => person(c, wallet, '//Alice')),
      b.newContext().then((c) => person(c, wallet, '//Bob')),
      b.newContext({ viewport: NARROW }).then((c) => person(c, wallet, '//Charlie')),
      b.newContext().then((c) => person(c, wallet, EMPTY_URI)),
      b.newContext().then((c) => person(c, wallet, '//Dave')),
    ]);
  }, 420_000);

  afterAll(async () => {
    await browser?.close();
    await api?.disconnect();
    await stack?.close();
    bundle?.dispose();
  });

  it('Alice creates and announces a stream in the studio and goes live with her camera', {
    timeout: 150_000,
  }, async () => {
    if (!stack) throw new Error('not started');
    streamId = await goLive(alice, stack.dapp, TITLE);
    expect(streamId).toMatch(/^[A-Za-z0-9_-]{8,64}$/);
    await expectNoSidewaysScroll(alice.page);
    await shot(alice, 'studio-live-375');
    // Announced on chain and live: the directory lists it.
    await openApp(charlie.page, `${stack.dapp}/`);
    const card = charlie.page.getByRole('link', { name: TITLE });
    await card.waitFor({ timeout: 30_000 });
    await expectNoSidewaysScroll(charlie.page);
    await shot(charlie, 'directory-375');
  });

  it('Bob signs in, funds a budget, then watches over WebRTC; Charlie is sent to HLS; an empty wallet is told why', {
    timeout: 300_000,
  }, async () => {
    if (!stack || !api) throw new Error('not started');
    const { page } = bob;
    await openApp(page, `${stack.dapp}/`);
    await page.getByRole('link', { name: TITLE }).click();
    await page.waitForURL(`**/watch/${streamId}`);
    await connectWallet(bob);
    await signIn(bob);
    await expect.poll(() => page.getByTestId('budget').inputValue(), { timeout: 20_000 }).not.toBe('');
    bobBefore = await freeBalance(api, keyring.addFromUri('//Bob').address);
    // Funding first (one wallet signature and a transaction), then Watch starts at once with the funded session.
    expect(await page.getByTestId('watch').textContent()).toContain('Fund & watch');
    await page.getByTestId('fund').click();
    await page.getByTestId('tx-status').waitFor({ timeout: 20_000 });
    const funded = page.getByTestId('funded');
    await funded.waitFor({ timeout: 60_000 });
    expect(await funded.textContent()).toContain('Your budget is ready');
    expect((await page.getByTestId('watch').textContent())?.trim()).toBe('Watch');
    await shot(bob, 'watch-funded');
    await page.getByTestId('watch').click();
    await expect
      .poll(() => page.getByTestId('mode').textContent(), { timeout: 60_000 })
      .toContain('Real-time (WebRTC)');
    await expect.poll(() => framesDecoded(page), { timeout: 20_000 }).toBeGreaterThan(0);
    const framesAtStart = await framesDecoded(page);

    // Charlie arrives while Bob holds the only WebRTC place.
    const c = charlie.page;
    await c.getByRole('link', { name: TITLE }).click();
    await c.waitForURL(`**/watch/${streamId}`);
    await connectWallet(charlie);
    await signIn(charlie);
    await expect.poll(() => c.getByTestId('budget').inputValue(), { timeout: 20_000 }).not.toBe('');
    await c.getByTestId('watch').click();
    await expect.poll(() => c.getByTestId('mode').textContent(), { timeout: 60_000 }).toContain('Standard (HLS)');
    // Bob's page counts Charlie without a reload.
    await expect.poll(() => page.getByTestId('viewers').textContent(), { timeout: 20_000 }).toBe('2 watching');

    // Charlie's video time advances further than an HLS token lives (~10 s) ahead of what was buffered: tokens are
    // renewed. Measured in media time (a live stream plays no faster than it is produced), not the test's clock.
    await expect.poll(() => mediaTime(c), { timeout: 60_000 }).toBeGreaterThan(0);
    const charlieFrom = await mediaTime(c);
    await expect
      .poll(async () => (await mediaTime(c)) - charlieFrom, { timeout: 90_000, interval: 1_000 })
      .toBeGreaterThan(14);
    expect(await c.getByTestId('mode').textContent()).toContain('Standard (HLS)');
    // The quality menu (HLS ladder, issue 17): Auto shows the rendition hls.js plays; Low pins the lowest (≤ 360p).
    const quality = () => c.getByTestId('quality-playing').textContent();
    await expect.poll(quality, { timeout: 30_000 }).toMatch(/^Auto · \d+p$/);
    await c.getByTestId('quality-menu').selectOption('low');
    // The pick shows once a segment of the new rendition plays: on a busy machine a payment hold may come first.
    await expect
      .poll(async () => Number(/^Low · (\d+)p$/.exec((await quality()) ?? '')?.[1] ?? 0), { timeout: 90_000 })
      .toBeGreaterThan(0);
    expect(Number(/(\d+)p$/.exec((await quality()) ?? '')?.[1])).toBeLessThanOrEqual(360);
    await expectNoSidewaysScroll(c);
    await shot(charlie, 'watch-hls-375');

    // Meanwhile a wallet with no funds: a sentence with what is missing and what to do, no codes.
    const e = empty.page;
    await openApp(e, `${stack.dapp}/watch/${streamId}`);
    await connectWallet(empty);
    await signIn(empty);
    await expect.poll(() => e.getByTestId('budget').inputValue(), { timeout: 20_000 }).not.toBe('');
    await e.getByTestId('watch').click();
    const shortfall = e.getByTestId('wallet-shortfall');
    await shortfall.waitFor({ timeout: 30_000 });
    const explanation = ((await shortfall.textContent()) ?? '').replace(/\s+/g, ' ');
    expect(explanation).toContain("doesn't have enough ROC");
    expect(explanation).toMatch(/your account can spend 0 ROC/);
    expect(explanation).toContain('Add ROC to this account');
    expect(await e.locator('main').textContent()).not.toMatch(/[A-Z]{3,}_[A-Z_]+|Error:|\b1010\b/);
    await shot(empty, 'watch-empty-wallet');

    // Bob: ≥ 20 s watched (counted by the server, acknowledged by his page), frames decoded all along.
    await expect
      .poll(() => page.evaluate(() => (globalThis as WatchHook).__persecondWatch?.watchedSeconds ?? 0), {
        timeout: 60_000,
        interval: 1_000,
      })
      .toBeGreaterThanOrEqual(20);
    expect((await framesDecoded(page)) - framesAtStart).toBeGreaterThan(20 * 10);
    expect(await page.getByTestId('mode').textContent()).toContain('Real-time (WebRTC)');
    await shot(bob, 'watch-webrtc');
  });

  it('Bob stops paying: the video pauses with an explanation, and comes back once he pays', {
    timeout: 120_000,
  }, async () => {
    const { page } = bob;
    await page.evaluate(() => (globalThis as WatchHook).__persecondWatch?.stopSettlements());
    // A settlement already on its way may still land (and end a pause that a slow chain caused): let it.
    await page.waitForFunction(() => (globalThis as WatchHook).__persecondWatch?.pending === 0n, undefined, {
      timeout: 60_000,
    });
    await page.waitForTimeout(3_000);
    const overlay = page.getByTestId('payment-required');
    // Unsettled watching beyond the settle interval plus grace (10 + 12 s of price) pauses the media, for good now.
    await page.getByTestId('pay-now').waitFor({ timeout: 60_000 });
    await page.waitForTimeout(1_000);
    expect(await overlay.textContent()).toContain('Playback is paused: your payments to the creator are behind.');
    await shot(bob, 'watch-paused');
    // Paused means no media: once the frames already on their way are decoded, the count stands still.
    const decodedOver2s = async () => {
      const from = await framesDecoded(page);
      await page.waitForTimeout(2_000);
      return (await framesDecoded(page)) - from;
    };
    await expect.poll(decodedOver2s, { timeout: 30_000, interval: 0 }).toBeLessThan(10);
    await page.getByTestId('pay-now').click();
    await overlay.waitFor({ state: 'detached', timeout: 60_000 });
    const resumed = await framesDecoded(page);
    await expect.poll(() => framesDecoded(page), { timeout: 20_000 }).toBeGreaterThan(resumed + 30);
  });

  it('Bob leaves and his remainder comes back to his wallet (read from chain events)', {
    timeout: 240_000,
  }, async () => {
    if (!api) throw new Error('not started');
    const { page } = bob;
    await leaveWatch(page);
    const owed = await page.evaluate(() => String((globalThis as WatchHook).__persecondWatch?.owed ?? ''));
    const watched = await page.evaluate(() => (globalThis as WatchHook).__persecondWatch?.watchedSeconds ?? 0);
    expect(watched).toBeGreaterThanOrEqual(20);
    expect(BigInt(owed)).toBe(BigInt(watched) * PRICE);

    const bobKey = accountHex(keyring.addFromUri('//Bob').address);
    const aliceKey = accountHex(keyring.addFromUri('//Alice').address);
    const { transfers, fees } = await nativeMoves(api, firstBlock);
    const funding = transfers.filter((t) => t.from === bobKey);
    expect(funding).toHaveLength(1);
    const session = funding[0]!.to;
    const paidToAlice = total(transfers.filter((t) => t.from === session && t.to === aliceKey));
    const refund = transfers.filter((t) => t.from === session && t.to === bobKey);
    const sessionFees = total(fees.filter((f) => f.who === session));
    const bobFees = total(fees.filter((f) => f.who === bobKey));
    // Alice got exactly the seconds Bob acknowledged; everything else came back, less the fees.
    expect(paidToAlice).toBe(BigInt(owed));
    expect(refund).toHaveLength(1);
    expect(refund[0]!.amount).toBe(funding[0]!.amount - paidToAlice - sessionFees);
    expect(await freeBalance(api, session)).toBe(0n);
    const bobAfter = await freeBalance(api, keyring.addFromUri('//Bob').address);
    expect(bobBefore - bobAfter).toBe(bobFees + paidToAlice + sessionFees);
    await shot(bob, 'watch-left');
  });

  it("Dave's tab dies owing: another browser is told what he owes; back in the first, his budget carries on and pays", {
    timeout: 480_000,
  }, async () => {
    if (!stack || !browser || !bundle) throw new Error('not started');
    const watchPage = `${stack.dapp}/watch/${streamId}`;
    const first = dave.page;
    await openApp(first, watchPage);
    await connectWallet(dave);
    await signIn(dave);
    await expect.poll(() => first.getByTestId('budget').inputValue(), { timeout: 20_000 }).not.toBe('');
    // No settlement goes out, so what he acknowledges stays owed when the tab dies.
    await first.waitForFunction(() => (globalThis as WatchHook).__persecondWatch !== undefined);
    await first.evaluate(() => (globalThis as WatchHook).__persecondWatch?.stopSettlements());
    await first.getByTestId('watch').click();
    await first.getByTestId('mode').waitFor({ timeout: 60_000 });
    await expect
      .poll(() => first.evaluate(() => (globalThis as WatchHook).__persecondWatch?.watchedSeconds ?? 0), {
        timeout: 60_000,
        interval: 1_000,
      })
      .toBeGreaterThanOrEqual(8);
    // Let the server verify a voucher (each session's newest, once per VOUCHER_VERIFY_INTERVAL_MS: 10 s after the
    // first), then the tab dies without leaving or paying.
    await first.waitForTimeout(8_000);
    await first.close();

    // Elsewhere (another browser profile: not the session's key): the amount and what to do, no codes.
    const elsewhere = await person(await browser.newContext(), bundle.path, '//Dave');
    const e = elsewhere.page;
    await openApp(e, watchPage);
    await connectWallet(elsewhere);
    await signIn(elsewhere);
    await expect.poll(() => e.getByTestId('budget').inputValue(), { timeout: 20_000 }).not.toBe('');
    await e.getByTestId('watch').click();
    const debt = e.getByTestId('debt');
    await debt.waitFor({ timeout: 60_000 });
    expect((await debt.textContent())?.replace(/\s+/g, ' ')).toMatch(
      /You owe [0-9.]+ ROC for a stream you watched before/,
    );
    const refusal = ((await e.getByTestId('refusal').textContent()) ?? '').replace(/\s+/g, ' ');
    expect(refusal).toContain("That session's key is not in this browser");
    expect(await e.getByTestId('pay-debt').count()).toBe(0);
    expect(await e.locator('main').textContent()).not.toMatch(/[A-Z]{3,}_[A-Z_]+|Error:/);
    await shot(elsewhere, 'watch-debt-elsewhere');

    // Back in the first browser: the budget from the last visit is offered; Watch carries the session on, and
    // leaving pays what it owes.
    const back = await dave.context.newPage();
    collectPageProblems(back, dave, dave.name);
    dave.page = back;
    await openApp(back, watchPage);
    await connectWallet(dave);
    await signIn(dave);
    const offered = back.getByTestId('funded');
    await offered.waitFor({ timeout: 30_000 });
    expect(await offered.textContent()).toContain('A budget from your last visit is ready');
    await back.getByTestId('watch').click();
    await back.getByTestId('mode').waitFor({ timeout: 60_000 });
    await expect.poll(() => framesDecoded(back), { timeout: 20_000 }).toBeGreaterThan(0);
    await leaveWatch(back);

    // The debt is paid: the other browser's session is admitted now.
    await expect
      .poll(
        async () => {
          if ((await e.getByTestId('mode').count()) > 0) return 'admitted';
          await e
            .getByTestId('retry-join')
            .click({ timeout: 2_000 })
            .catch(() => undefined);
          await e.waitForTimeout(2_000);
          return (await e.getByTestId('mode').count()) > 0 ? 'admitted' : 'refused';
        },
        { timeout: 60_000, interval: 1_000 },
      )
      .toBe('admitted');
    await leaveWatch(e);
    expect(elsewhere.pageErrors).toEqual([]);
    await elsewhere.context.close();
  });

  it("Alice's earnings page shows exactly what the chain shows she received", { timeout: 240_000 }, async () => {
    if (!stack || !api) throw new Error('not started');
    // Charlie leaves too, so that the chain's figure stops moving.
    await leaveWatch(charlie.page);
    const aliceKey = accountHex(keyring.addFromUri('//Alice').address);
    const { transfers } = await nativeMoves(api, firstBlock);
    const received = total(transfers.filter((t) => t.to === aliceKey));
    expect(received).toBeGreaterThan(20n * PRICE);

    // A second tab: leaving the studio page would end Alice's stream.
    const page = await alice.context.newPage();
    collectPageProblems(page, alice, alice.name);
    await openApp(page, `${stack.dapp}/earnings`);
    const shown = async () => {
      await page.getByTestId('earnings-refresh').click();
      const final = page.getByTestId('total-final');
      if ((await final.count()) === 0) return -1n;
      const pending = await page.getByTestId('total-pending').getAttribute('data-planck');
      return BigInt((await final.getAttribute('data-planck')) ?? '0') + BigInt(pending ?? '0');
    };
    await expect.poll(shown, { timeout: 60_000, interval: 1_000 }).toBe(received);
    const row = page.getByTestId('earnings-table').locator('tr', { hasText: streamId });
    expect(await row.count()).toBe(1);
    await expectNoSidewaysScroll(page);
    await page.screenshot({ path: join(resultsDir, 'earnings-375.png'), fullPage: true });
    expectNoPageErrors([alice, bob, charlie, empty, dave]);
  });

  it('Alice ends the stream while Bob watches: his page and her summary show the figures the chain shows', {
    timeout: 240_000,
  }, async () => {
    if (!stack || !api) throw new Error('not started');
    const { page } = bob;
    const watched = () => page.evaluate(() => (globalThis as WatchHook).__persecondWatch?.watchedSeconds ?? 0);
    await page.getByTestId('watch').click();
    await expect.poll(() => page.getByTestId('mode').textContent(), { timeout: 60_000 }).toContain('Real-time');
    await expect.poll(watched, { timeout: 60_000, interval: 1_000 }).toBeGreaterThanOrEqual(5);

    await alice.page.getByTestId('end-stream').click();
    const bobSaw = await endedFigures(page);
    expect(bobSaw.text).toMatch(
      /You watched .+ and paid [0-9.]+ ROC; the rest \([0-9.]+ ROC\) is back in your wallet\./,
    );
    expect(await page.getByTestId('watch').count()).toBe(0);
    // The chain: Bob's newest session paid exactly what he was shown and refunded the rest, once.
    const moves = newestSessionMoves(await protocolEvents(api, firstBlock), keyring.addFromUri('//Bob').address);
    expect(moves).toEqual({ sessions: 2, paid: bobSaw.paid, refunds: [bobSaw.refunded] });
    expect(bobSaw.paid).toBe(BigInt(bobSaw.seconds) * PRICE);
    expect(bobSaw.seconds).toBeGreaterThanOrEqual(5);
    await shot(bob, 'watch-ended');

    // Alice's summary follows the viewers' last payments as the server credits them: then its settled figure is the
    // chain's (every payment has landed by now: Bob's was the last), and what was earned live is settled or owed.
    const summary = alice.page.getByTestId('stream-summary');
    const figure = (id: string, attr = 'data-planck') => summary.getByTestId(id).getAttribute(attr);
    const settled = streamSettled(await protocolEvents(api, firstBlock), streamId);
    await expect.poll(() => figure('summary-settled'), { timeout: 90_000, interval: 1_000 }).toBe(settled.toString());
    const [earned, unsettled] = [
      BigInt((await figure('summary-earned')) ?? ''),
      BigInt((await figure('summary-unsettled')) ?? ''),
    ];
    expect(earned).toBe(settled + unsettled);
    expect(settled).toBeGreaterThan(20n * PRICE + bobSaw.paid);
    expect(await figure('summary-tips')).toBe('0');
    // Bob, Charlie and Dave paid to watch; never more than two at once.
    expect(await summary.getByTestId('summary-unique').textContent()).toBe('3');
    expect(await summary.getByTestId('summary-peak').textContent()).toBe('2');
    expect(Number(await figure('summary-duration', 'data-seconds'))).toBeGreaterThan(20 + bobSaw.seconds);
    await shot(alice, 'studio-summary-375');

    // Opening the ended stream afresh: it says so, and offers no funding.
    const c = charlie.page;
    await openApp(c, `${stack.dapp}/watch/${streamId}`);
    await c.getByTestId('stream-ended').waitFor({ timeout: 30_000 });
    expect([await c.getByTestId('watch').count(), await c.getByTestId('budget').count()]).toEqual([0, 0]);
    expectNoPageErrors([alice, bob, charlie, empty, dave]);
  });
});
