// The stage in real Chromium (fake cameras, a fake screen) on the stack as `npm start` runs it: Alice goes live from
// the studio; Bob and Charlie watch over WebRTC and pay; Bob asks to join the stage and Alice approves; Charlie's
// page decodes both cameras (Alice's and Bob's) in the stage view; Alice promotes Bob to co-host and back; Bob shares
// his screen (its own tile, shown large), Charlie switches layouts; Alice shares hers from the studio; Alice
// force-mutes Bob's microphone and camera, then removes him. Bob is not charged while on stage (his watch meter, the
// server's tick count, stands still while Charlie's runs) and is charged again after, carrying on where it stopped;
// when he leaves, the chain shows exactly what the ledger counted.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Keyring } from '@polkadot/keyring';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp } from './support/browser.ts';
import { protocolEvents } from './support/chainEvents.ts';
import { newestSessionMoves } from './support/endOfStream.ts';
import { expectNoPageErrors, stopAtFirstFailure } from './support/pageFailures.ts';
import { connectWallet, goLive, leaveWatch, type Person, signIn } from './support/people.ts';
import { type Stage, setStage } from './support/stage.ts';

const resultsDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-results', 'stage');
/** The studio's default price: 0.001 ROC per second. */
const PRICE = 1_000_000_000n;
const WAIT = { timeout: 30_000 };

/** The DEV-only hook of the watch page. */
interface WatchHook {
  __persecondWatch?: {
    watchedSeconds: number;
    owed: bigint;
    final: { owed?: string; settled?: string; watchedSeconds?: number };
  };
}

/** The seconds a page's watch session was charged (the server's ticks it acknowledged). */
const watched = (page: Page) => page.evaluate(() => (globalThis as WatchHook).__persecondWatch?.watchedSeconds ?? -1);

/** Frames a stage tile's picture showed (-1: no such tile). */
function tileFrames(page: Page, wallet: string, source: 'camera' | 'screen'): Promise<number> {
  // Page scripts as text: this project's Node typings have no DOM.
  return page.evaluate<number>(
    `document.querySelector('[data-testid=stage-tile][data-wallet="${wallet}"][data-source="${source}"] video')
      ?.getVideoPlaybackQuality().totalVideoFrames ?? -1`,
  );
}

/** A member's row in a participant list on `page` (Alice's: the studio's stage). */
const memberRow = (page: Page, wallet: string): Locator =>
  page.locator(`[data-testid=stage-member][data-wallet="${wallet}"]`);

describe('the stage on the stack as `npm start` runs it', () => {
  // Chromium's fake devices give getDisplayMedia a fake screen too, taken without a picker.
  let stage: Stage | undefined;
  let alice: Person;
  let bob: Person;
  let charlie: Person;
  let streamId = '';
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  const aliceAddress = keyring.addFromUri('//Alice').address;
  const bobAddress = keyring.addFromUri('//Bob').address;
  /** Bob's charged seconds once his time on stage began (no tick in flight any more). */
  let bobOnStage = 0;
  stopAtFirstFailure(async () => {
    await stage?.report(resultsDir);
  });
  const shot = (p: Person, name: string) =>
    p.page.screenshot({ path: join(resultsDir, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    mkdirSync(resultsDir, { recursive: true });
    stage = await setStage(['Alice', 'Bob', 'Charlie']);
    const named = (name: string): Person => {
      const p = stage?.people[name];
      if (!p) throw new Error(`no ${name} on the stage`);
      return p;
    };
    [alice, bob, charlie] = [named('Alice'), named('Bob'), named('Charlie')];
  }, 420_000);

  afterAll(async () => {
    await stage?.close();
  });

  it('Alice goes live; Bob and Charlie fund a budget and watch over WebRTC', { timeout: 300_000 }, async () => {
    if (!stage) throw new Error('not started');
    const dapp = stage.stack.dapp;
    streamId = await goLive(alice, dapp, 'Stage live');
    await alice.page.locator('[data-testid=stage-host][data-status=ready]').waitFor(WAIT);
    expect(await memberRow(alice.page, aliceAddress).getAttribute('data-role')).toBe('host');
    await Promise.all(
      [bob, charlie].map(async (p) => {
        const { page } = p;
        await openApp(page, `${dapp}/watch/${streamId}`);
        await connectWallet(p);
        await signIn(p);
        await expect.poll(() => page.getByTestId('budget').inputValue(), WAIT).not.toBe('');
        await page.getByTestId('watch').click();
        await expect.poll(() => page.getByTestId('mode').textContent(), { timeout: 90_000 }).toContain('Real-time');
        await expect.poll(() => watched(page), { timeout: 60_000, interval: 1_000 }).toBeGreaterThanOrEqual(3);
      }),
    );
    // Alone on stage, the host plays in the ordinary player: no stage view.
    expect(await charlie.page.getByTestId('stage-view').count()).toBe(0);
    expect(await bob.page.getByTestId('stage-rule').textContent()).toContain('You are not charged while on stage.');
  });

  it('Bob asks to join the stage, Alice approves; Charlie decodes both cameras; Bob is not charged meanwhile', {
    timeout: 180_000,
  }, async () => {
    const b = bob.page;
    await b.getByTestId('stage-request').click();
    await b.locator('[data-testid=stage-status][data-state=pending]').waitFor(WAIT);
    const request = alice.page.locator(`[data-testid=stage-request-item][data-wallet="${bobAddress}"]`);
    await request.waitFor(WAIT);
    await request.getByTestId('stage-approve').click();
    await b.locator('[data-testid=stage-status][data-state=on-stage]').waitFor(WAIT);
    expect(await request.count()).toBe(0);

    // Bob's camera and microphone go out: every list shows them on.
    for (const page of [alice.page, charlie.page, b]) {
      const row = memberRow(page, bobAddress);
      await expect.poll(() => row.getAttribute('data-camera'), WAIT).toBe('on');
      await expect.poll(() => row.getAttribute('data-microphone'), WAIT).toBe('on');
      expect(await row.getAttribute('data-role')).toBe('guest');
    }

    // Charlie's stage view: both cameras, each a video track with frames coming.
    await charlie.page.getByTestId('stage-view').waitFor(WAIT);
    const c = charlie.page;
    for (const wallet of [aliceAddress, bobAddress]) {
      await expect.poll(() => tileFrames(c, wallet, 'camera'), { timeout: 60_000 }).toBeGreaterThan(0);
    }
    const before = await Promise.all([aliceAddress, bobAddress].map((w) => tileFrames(c, w, 'camera')));
    await expect
      .poll(async () => {
        const now = await Promise.all([aliceAddress, bobAddress].map((w) => tileFrames(c, w, 'camera')));
        return Math.min(...now.map((n, i) => n - (before[i] ?? 0)));
      }, WAIT)
      .toBeGreaterThan(10);
    expect(await c.locator('[data-testid=stage-view]').getAttribute('data-layout')).toBe('grid');
    await shot(charlie, 'charlie-grid');

    // Not charged on stage: a tick computed before the approval may still land, so Bob's count is read once
    // Charlie's ran two more seconds; from then it stands still while Charlie's runs on.
    const charlieAt = await watched(c);
    await expect.poll(() => watched(c), { timeout: 30_000, interval: 500 }).toBeGreaterThanOrEqual(charlieAt + 2);
    bobOnStage = await watched(b);
    const charlieFrom = await watched(c);
    await expect.poll(() => watched(c), { timeout: 60_000, interval: 1_000 }).toBeGreaterThanOrEqual(charlieFrom + 10);
    expect(await watched(b)).toBe(bobOnStage);
    expect(Number(await b.getByTestId('stage-charged').getAttribute('data-seconds'))).toBeLessThanOrEqual(2);
    await shot(bob, 'bob-on-stage');
  });

  it('Alice promotes Bob to co-host (he sees the requests) and demotes him again', { timeout: 60_000 }, async () => {
    const row = memberRow(alice.page, bobAddress);
    await row.getByTestId('stage-promote').click();
    await bob.page.locator('[data-testid=stage-status][data-role=co-host]').waitFor(WAIT);
    await bob.page.getByTestId('stage-requests').waitFor(WAIT);
    await expect.poll(() => memberRow(charlie.page, bobAddress).getAttribute('data-role'), WAIT).toBe('co-host');
    await row.getByTestId('stage-demote').click();
    await bob.page.locator('[data-testid=stage-status][data-role=guest]').waitFor(WAIT);
    await bob.page.getByTestId('stage-requests').waitFor({ state: 'detached', ...WAIT });
  });

  it('Bob shares his screen: Charlie sees it large, with Bob in picture-in-picture', { timeout: 90_000 }, async () => {
    const c = charlie.page;
    await bob.page.getByTestId('stage-screen').click();
    await expect.poll(() => bob.page.getByTestId('stage-screen').textContent(), WAIT).toContain('Stop sharing');
    await expect.poll(() => memberRow(alice.page, bobAddress).getAttribute('data-screen'), WAIT).toBe('on');
    await expect.poll(() => tileFrames(c, bobAddress, 'screen'), { timeout: 60_000 }).toBeGreaterThan(0);
    expect(await c.getByTestId('stage-view').getAttribute('data-layout')).toBe('screen');
    expect(await c.locator('.pip [data-testid=stage-tile]').getAttribute('data-wallet')).toBe(bobAddress);
    await shot(charlie, 'charlie-screen');
    // The viewer switches layouts: the grid shows the screen and both cameras; a click spotlights Bob.
    await c.locator('[data-testid=stage-layout][data-layout=grid]').click();
    await expect.poll(() => c.getByTestId('stage-tile').count(), WAIT).toBe(3);
    await c.locator(`[data-testid=stage-tile][data-wallet="${bobAddress}"][data-source=camera]`).click();
    await expect.poll(() => c.getByTestId('stage-view').getAttribute('data-layout'), WAIT).toBe('spotlight');
    const large = c.locator('[data-testid=stage-main] > [data-testid=stage-tile]');
    expect([await large.count(), await large.getAttribute('data-wallet')]).toEqual([1, bobAddress]);
    await bob.page.getByTestId('stage-screen').click();
    await expect.poll(() => memberRow(alice.page, bobAddress).getAttribute('data-screen'), WAIT).toBe('off');
    await expect.poll(() => c.locator('[data-testid=stage-tile][data-source=screen]').count(), WAIT).toBe(0);
  });

  it('Alice shares her screen from the studio: Charlie sees it; she stops', { timeout: 90_000 }, async () => {
    const c = charlie.page;
    await alice.page.getByTestId('host-screen').click();
    await expect.poll(() => alice.page.getByTestId('host-screen').textContent(), WAIT).toContain('Stop sharing');
    await expect.poll(() => tileFrames(c, aliceAddress, 'screen'), { timeout: 60_000 }).toBeGreaterThan(0);
    await c.locator('[data-testid=stage-layout][data-layout=screen]').click();
    expect(await c.locator('[data-testid=stage-main] > [data-testid=stage-tile]').getAttribute('data-wallet')).toBe(
      aliceAddress,
    );
    await alice.page.getByTestId('host-screen').click();
    await expect.poll(() => memberRow(c, aliceAddress).getAttribute('data-screen'), WAIT).toBe('off');
    await expect.poll(() => c.locator('[data-testid=stage-tile][data-source=screen]').count(), WAIT).toBe(0);
  });

  it('Alice force-mutes Bob and removes him; he is charged again from where his count stopped', {
    timeout: 120_000,
  }, async () => {
    const b = bob.page;
    const c = charlie.page;
    const row = memberRow(alice.page, bobAddress);
    await row.getByTestId('stage-force-microphone').click();
    for (const page of [alice.page, c, b]) {
      await expect.poll(() => memberRow(page, bobAddress).getAttribute('data-microphone'), WAIT).toBe('muted-by-host');
    }
    await b.getByTestId('stage-held').waitFor(WAIT);
    expect(await b.getByTestId('stage-microphone').isDisabled()).toBe(true);
    await row.getByTestId('stage-force-camera').click();
    await expect.poll(() => memberRow(c, bobAddress).getAttribute('data-camera'), WAIT).toBe('muted-by-host');
    await expect
      .poll(() => c.locator(`[data-testid=stage-tile][data-wallet="${bobAddress}"]`).getAttribute('data-video'), WAIT)
      .toBe('off');
    await shot(alice, 'alice-muted-bob');
    // Still on stage, still not charged.
    expect(await watched(b)).toBe(bobOnStage);

    await row.getByTestId('stage-remove').click();
    await expect.poll(() => b.getByTestId('stage-status').getAttribute('data-state'), WAIT).toBe('none');
    expect(await b.getByTestId('stage-status').textContent()).toContain('The host took you off the stage.');
    await memberRow(alice.page, bobAddress).waitFor({ state: 'detached', ...WAIT });
    // Alone again, the host is back in Charlie's ordinary player.
    await c.getByTestId('stage-view').waitFor({ state: 'detached', ...WAIT });

    // Charged again, carrying on from where it stopped (no lump for the seconds on stage).
    await expect.poll(() => watched(b), { timeout: 30_000, interval: 250 }).toBeGreaterThan(bobOnStage);
    expect(await watched(b)).toBeLessThan(bobOnStage + 5);
    await expect.poll(() => watched(b), { timeout: 60_000, interval: 1_000 }).toBeGreaterThanOrEqual(bobOnStage + 5);
    expect(Number(await b.getByTestId('stage-charged-again').getAttribute('data-seconds'))).toBeGreaterThanOrEqual(4);
    await shot(bob, 'bob-off-stage');
  });

  it('Bob leaves: the chain shows exactly the seconds the ledger charged him', { timeout: 240_000 }, async () => {
    if (!stage) throw new Error('not started');
    const b = bob.page;
    await leaveWatch(b);
    const final = await b.evaluate(() => (globalThis as WatchHook).__persecondWatch?.final ?? {});
    const seconds = final.watchedSeconds ?? -1;
    expect(BigInt(final.owed ?? '-1')).toBe(BigInt(seconds) * PRICE);
    // Every second charged is one he watched off stage: before it, and the five or more after it.
    expect(seconds).toBeGreaterThanOrEqual(bobOnStage + 5);
    const moves = newestSessionMoves(await protocolEvents(stage.api, stage.firstBlock), bobAddress);
    expect(moves.sessions).toBe(1);
    expect(moves.paid).toBe(BigInt(seconds) * PRICE);
    expect(moves.refunds).toHaveLength(1);
    expectNoPageErrors([alice, bob, charlie]);
  });
});
