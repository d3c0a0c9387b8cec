// The live chat in real Chromium on the stack as `npm start` runs it: Alice goes live from the studio, Bob and Charlie
// sign in on the watch page and the three chat (each sees the others' messages, Alice with the creator badge); a
// reaction reaches every page; markup and script in a message show as text and run nothing; Dave, not signed in,
// reads along behind a sign-in prompt; Alice's slow mode reaches the viewers and refuses Bob's second message with
// the time to wait. On a 375 px screen the chat sits below the player, at 1024 px beside it. Meanwhile the directory's
// card of the live stream shows its thumbnail, a picture that changes while the stream runs.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp } from './support/browser.ts';
import { collectPageProblems, expectNoPageErrors, stopAtFirstFailure } from './support/pageFailures.ts';
import { connectWallet, expectNoSidewaysScroll, goLive, type Person, signIn } from './support/people.ts';
import { pictureDigest } from './support/pictures.ts';
import { type Stage, setStage } from './support/stage.ts';

const resultsDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-results', 'chat');
const XSS = '<img src=x onerror=alert(1)><script>alert(2)</script>';
const WAIT = { timeout: 30_000 };

/** The DEV-only hook of the chat panel. */
interface ChatHook {
  __persecondChat?: { socket?: { connect(): void; disconnect(): void } };
}

/** The texts of the messages a page shows, oldest first. */
const texts = (page: Page) => page.locator('[data-testid=chat-list] [data-testid=chat-text]').allTextContents();
const joined = (page: Page) => page.locator('[data-testid=chat][data-status=joined]').waitFor(WAIT);

async function say(p: Person, text: string): Promise<void> {
  await p.page.getByTestId('chat-input').fill(text);
  await p.page.getByTestId('chat-send').click();
  // Sent once the input is cleared (the server stored it), else the page shows why not.
  await expect
    .poll(async () => {
      const error = p.page.getByTestId('chat-error');
      if ((await error.count()) > 0) throw new Error(`${p.name} could not send: ${await error.textContent()}`);
      return p.page.getByTestId('chat-input').inputValue();
    }, WAIT)
    .toBe('');
}

describe('live chat on the stack as `npm start` runs it', () => {
  let stage: Stage | undefined;
  let alice: Person;
  let bob: Person;
  let charlie: Person;
  let dave: Person;
  let everyone: Person[] = [];
  let streamId = '';
  const dialogs: string[] = [];
  stopAtFirstFailure(async () => {
    await stage?.report(resultsDir);
  });

  beforeAll(async () => {
    mkdirSync(resultsDir, { recursive: true });
    stage = await setStage(['Alice', 'Bob', 'Charlie', 'Dave']);
    const named = (name: string): Person => {
      const p = stage?.people[name];
      if (!p) throw new Error(`no ${name} on the stage`);
      return p;
    };
    [alice, bob, charlie, dave] = ['Alice', 'Bob', 'Charlie', 'Dave'].map(named) as [Person, Person, Person, Person];
    everyone = [alice, bob, charlie, dave];
    for (const p of everyone) {
      p.page.on('dialog', (d) => {
        dialogs.push(`${p.name}: ${d.message()}`);
        void d.dismiss();
      });
    }
  }, 420_000);

  afterAll(async () => {
    await stage?.close();
  });

  it('Alice goes live; Bob and Charlie sign in on the watch page; Dave reads without signing in', {
    timeout: 240_000,
  }, async () => {
    if (!stage) throw new Error('not started');
    streamId = await goLive(alice, stage.stack.dapp, 'Chat live');
    await joined(alice.page);
    const watchPage = `${stage.stack.dapp}/watch/${streamId}`;
    await Promise.all(
      [bob, charlie].map(async (p) => {
        await openApp(p.page, watchPage);
        await connectWallet(p);
        await signIn(p);
        await p.page.getByTestId('chat-input').waitFor(WAIT);
        await joined(p.page);
      }),
    );
    await openApp(dave.page, watchPage);
    await joined(dave.page);
    await dave.page.getByTestId('chat-sign-in-prompt').waitFor(WAIT);
    expect(await dave.page.getByTestId('chat-input').count()).toBe(0);
    expect(await dave.page.locator('[data-testid=chat-react]:enabled').count()).toBe(0);
  });

  it('the directory card of the live stream shows its thumbnail, a picture that changes while it runs', {
    timeout: 180_000,
  }, async () => {
    if (!stage) throw new Error('not started');
    const page = await dave.context.newPage();
    collectPageProblems(page, dave, dave.name);
    await openApp(page, `${stage.stack.dapp}/`);
    const preview = () => pictureDigest(page, `[data-testid=live-preview][data-stream-id="${streamId}"]`);
    // The SFU takes a picture of the smallest layer of the fake camera, at most 180 px high with an even width.
    await expect.poll(preview, { timeout: 60_000, interval: 1_000 }).toMatch(/^\d*[02468]x180:/);
    const first = await preview();
    expect(first).not.toBe('');
    // The camera's picture moves: a later thumbnail (taken and asked for every 10 s) shows something else.
    await expect
      .poll(async () => [first, ''].includes(await preview()), { timeout: 90_000, interval: 2_000 })
      .toBe(false);
    await page.close();
  });

  it('each sees the others’ messages, the creator badged', { timeout: 120_000 }, async () => {
    await say(bob, 'Hello from Bob');
    await say(charlie, 'Charlie here');
    await say(alice, 'Welcome, both of you');
    for (const p of everyone) {
      await expect.poll(() => texts(p.page), WAIT).toEqual(['Hello from Bob', 'Charlie here', 'Welcome, both of you']);
    }
    const fromAlice = bob.page.getByTestId('chat-message').filter({ hasText: 'Welcome, both of you' });
    expect(await fromAlice.getByTestId('chat-badge').getAttribute('data-badge')).toBe('creator');
    const fromBob = alice.page.getByTestId('chat-message').filter({ hasText: 'Hello from Bob' });
    expect(await fromBob.getByTestId('chat-badge').count()).toBe(0);
    expect(await dave.page.getByTestId('chat-sign-in-prompt').textContent()).toContain('sign in to chat');
  });

  it('a reaction shows for everyone', { timeout: 60_000 }, async () => {
    // Floating emoji live a few seconds: watched for on every page before the press.
    const floated = Promise.all(
      everyone.map((p) =>
        p.page
          .locator('[data-testid=chat-floats] [data-reaction=fire]')
          .first()
          .waitFor({ state: 'attached', ...WAIT }),
      ),
    );
    await charlie.page.locator('[data-testid=chat-react][data-reaction=fire]').click();
    await floated;
    for (const p of everyone) {
      const fire = p.page.locator('[data-testid=chat-react][data-reaction=fire]');
      await expect.poll(async () => Number(await fire.getAttribute('data-count')), WAIT).toBeGreaterThanOrEqual(1);
    }
  });

  it('markup and script in a message are shown as text and run nothing', { timeout: 60_000 }, async () => {
    await say(bob, XSS);
    for (const p of everyone) {
      await expect.poll(async () => (await texts(p.page)).at(-1), WAIT).toBe(XSS);
      const list = p.page.getByTestId('chat-list');
      expect(await list.locator('img, script, iframe, svg').count()).toBe(0);
      // Every message's text is one text node: no element was made from any of them.
      expect(await list.locator('[data-testid=chat-text] *').count()).toBe(0);
    }
    // Long enough for an injected handler or script to have run.
    await bob.page.waitForTimeout(1_000);
    expect(dialogs).toEqual([]);
  });

  it('Alice turns slow mode on: viewers see it, and a second message within the window is refused with the wait', {
    timeout: 90_000,
  }, async () => {
    const { page } = alice;
    // Under two minutes: the wait is then said in seconds (from two minutes on, in minutes).
    await page.getByTestId('chat-slow-mode').fill('60');
    await page.getByTestId('chat-settings-save').click();
    await page.getByTestId('chat-settings-saved').waitFor(WAIT);
    for (const p of [bob, charlie, dave]) {
      await expect.poll(() => p.page.getByTestId('chat-slow-mode-note').count(), WAIT).toBe(1);
    }
    await say(bob, 'first under slow mode');
    await bob.page.getByTestId('chat-input').fill('second too soon');
    await bob.page.getByTestId('chat-send').click();
    const error = bob.page.getByTestId('chat-error');
    await error.waitFor(WAIT);
    expect(await error.textContent()).toMatch(/^Slow mode is on\. .* You can send again in \d+ s\.$/);
    // The refused text stays in the input; the others never see it.
    expect(await bob.page.getByTestId('chat-input').inputValue()).toBe('second too soon');
    expect(await texts(charlie.page)).not.toContain('second too soon');
  });

  it('a reader whose socket dropped joins again and gets what was said meanwhile, once', {
    timeout: 60_000,
  }, async () => {
    const { page } = dave;
    await page.evaluate(() => (globalThis as ChatHook).__persecondChat?.socket?.disconnect());
    await page.locator('[data-testid=chat][data-status=reconnecting]').waitFor(WAIT);
    await say(charlie, 'said while Dave was away');
    await page.evaluate(() => (globalThis as ChatHook).__persecondChat?.socket?.connect());
    await joined(page);
    await expect.poll(async () => (await texts(page)).at(-1), WAIT).toBe('said while Dave was away');
    const shown = await texts(page);
    expect(new Set(shown).size).toBe(shown.length);
    expect(shown).toEqual(await texts(charlie.page));
  });

  it('scrolled up, new messages wait behind a button that brings the reader back', { timeout: 60_000 }, async () => {
    const { page } = dave;
    const metrics = () =>
      page.evaluate<{ top: number; height: number; client: number }>(
        `(() => { const el = document.querySelector('[data-testid=chat-list]');
          return { top: el.scrollTop, height: el.scrollHeight, client: el.clientHeight }; })()`,
      );
    for (let i = 1; i <= 4; i++) await say(alice, `Filler ${i}: ${'a long line that wraps on a phone '.repeat(3)}`);
    await expect.poll(async () => (await texts(page)).at(-1), WAIT).toMatch(/^Filler 4/);
    const full = await metrics();
    expect(full.height).toBeGreaterThan(full.client);
    // At the bottom: the newest is in view.
    expect(full.height - full.top - full.client).toBeLessThan(32);
    await page.evaluate(`document.querySelector('[data-testid=chat-list]').scrollTop = 0`);
    await say(alice, 'while Dave reads back');
    const button = page.getByTestId('chat-new-messages');
    await button.waitFor(WAIT);
    expect(await button.textContent()).toContain('1 new message');
    expect((await metrics()).top).toBeLessThan(32);
    await button.click();
    await button.waitFor({ state: 'detached', ...WAIT });
    const back = await metrics();
    expect(back.height - back.top - back.client).toBeLessThan(32);
  });

  it('the chat is beside the player at 1024 px and below it at 375 px', { timeout: 60_000 }, async () => {
    const box = async (page: Page, id: string) => {
      const b = await page.getByTestId(id).boundingBox();
      if (!b) throw new Error(`no ${id} box`);
      return b;
    };
    const wide = { player: await box(dave.page, 'player'), chat: await box(dave.page, 'chat') };
    expect(wide.chat.x).toBeGreaterThanOrEqual(wide.player.x + wide.player.width);
    expect(wide.chat.y).toBeLessThan(wide.player.y + wide.player.height);
    await dave.page.setViewportSize({ width: 375, height: 800 });
    await expect
      .poll(async () => (await box(dave.page, 'chat')).y - (await box(dave.page, 'player')).y, WAIT)
      .toBeGreaterThan(0);
    const narrow = { player: await box(dave.page, 'player'), chat: await box(dave.page, 'chat') };
    expect(narrow.chat.y).toBeGreaterThanOrEqual(narrow.player.y + narrow.player.height);
    await expectNoSidewaysScroll(dave.page);
    await dave.page.screenshot({ path: join(resultsDir, 'watch-chat-375.png'), fullPage: true });
    await alice.page.screenshot({ path: join(resultsDir, 'studio-chat.png'), fullPage: true });
    expectNoPageErrors(everyone);
    expect(dialogs).toEqual([]);
  });
});
