// Chat moderation in real Chromium on the stack as `npm start` runs it: Alice goes live and names Bob a moderator from
// the studio; Bob learns it from his own badged message and gets the moderator menu; he deletes Charlie's message
// (gone for everyone), times Charlie out and bans Dave (each sees the refusal's sentence when posting; Dave after a
// reload too); the studio's log shows the actions newest first, and Alice lifts Charlie's timeout from it. Charlie
// then tips with a message: pending, then confirmed on every page with the chain's amount, and in the studio's numbers;
// Alice's earnings page shows it as a final tip of that amount. Alice ends the stream and goes live with another: Dave's
// ban holds there (refused with the sentence), while Charlie chats.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TipEvent } from '@persecond/contracts-client';
import { Keyring } from '@polkadot/keyring';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explainCode } from '../src/lib/errors.ts';
import { openApp } from './support/browser.ts';
import { accountHex, protocolEvents } from './support/chainEvents.ts';
import { collectPageProblems, expectNoPageErrors, stopAtFirstFailure } from './support/pageFailures.ts';
import { connectWallet, goLive, type Person, signIn } from './support/people.ts';
import { type Stage, setStage } from './support/stage.ts';

const resultsDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-results', 'chat-moderation');
const WAIT = { timeout: 30_000 };
/** For what waits on the chain (a block, finality). */
const LONG = { timeout: 120_000 };

/** Records on a page every status its tip marks show (`globalThis.__tipStatuses`), as the DOM changes. */
const WATCH_TIPS = `(() => {
  const seen = (globalThis.__tipStatuses = []);
  const mark = (el) => { if (el.getAttribute('data-testid') === 'chat-tip') seen.push(el.getAttribute('data-status')); };
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === 'attributes') { seen.push(r.oldValue); mark(r.target); }
      for (const n of r.addedNodes) {
        if (n.nodeType !== 1) continue;
        mark(n);
        n.querySelectorAll('[data-testid=chat-tip]').forEach(mark);
      }
    }
  }).observe(document.querySelector('[data-testid=chat-list]'), {
    subtree: true, childList: true, attributes: true, attributeFilter: ['data-status'], attributeOldValue: true,
  });
})()`;

/** The texts of the messages a page shows, oldest first. */
const texts = (page: Page) => page.locator('[data-testid=chat-list] [data-testid=chat-text]').allTextContents();
const joined = (page: Page) => page.locator('[data-testid=chat][data-status=joined]').waitFor(WAIT);
/** A message row on `page` by its text. */
const row = (page: Page, text: string) =>
  page.getByTestId('chat-message').filter({ has: page.getByTestId('chat-text').getByText(text, { exact: true }) });

/** Types `text` and sends it; resolves with the sentence the page shows if the server refused it, else undefined. */
async function post(p: Person, text: string): Promise<string | undefined> {
  await p.page.getByTestId('chat-input').fill(text);
  await p.page.getByTestId('chat-send').click();
  let refusal: string | undefined;
  await expect
    .poll(async () => {
      const error = p.page.getByTestId('chat-error');
      if ((await error.count()) > 0) refusal = (await error.textContent()) ?? '';
      return refusal !== undefined || (await p.page.getByTestId('chat-input').inputValue()) === '';
    }, WAIT)
    .toBe(true);
  return refusal;
}

async function say(p: Person, text: string): Promise<void> {
  const refusal = await post(p, text);
  if (refusal !== undefined) throw new Error(`${p.name} could not send: ${refusal}`);
}

/** Opens the moderator menu on the message `text`, runs `act` in it and returns the result line's text. */
async function moderate(
  p: Person,
  text: string,
  act: (menu: Locator) => Promise<void>,
): Promise<{ ok: boolean; text: string }> {
  const message = row(p.page, text);
  await message.getByTestId('chat-mod-open').click();
  const menu = message.getByTestId('chat-mod-menu');
  await menu.waitFor(WAIT);
  const result = p.page.getByTestId('chat-mod-result');
  const shown = async () => ((await result.count()) > 0 ? await result.textContent() : null);
  // Each action here has a sentence of its own: the line changes once the server answered.
  const before = await shown();
  await act(menu);
  await expect.poll(shown, WAIT).not.toBe(before);
  return { ok: (await result.getAttribute('data-ok')) === 'true', text: (await result.textContent()) ?? '' };
}

describe('chat moderation on the stack as `npm start` runs it', () => {
  let stage: Stage | undefined;
  let alice: Person;
  let bob: Person;
  let charlie: Person;
  let dave: Person;
  let everyone: Person[] = [];
  let watchPage = '';
  let streamId = '';
  /** Charlie's tip as the chain's event tells it. */
  let tip: TipEvent | undefined;
  const address: Record<string, string> = {};
  stopAtFirstFailure(async () => {
    await stage?.report(resultsDir);
  });

  beforeAll(async () => {
    mkdirSync(resultsDir, { recursive: true });
    stage = await setStage(['Alice', 'Bob', 'Charlie', 'Dave']);
    const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
    const named = (name: string): Person => {
      const p = stage?.people[name];
      if (!p) throw new Error(`no ${name} on the stage`);
      address[name] = keyring.addFromUri(`//${name}`).address;
      return p;
    };
    [alice, bob, charlie, dave] = ['Alice', 'Bob', 'Charlie', 'Dave'].map(named) as [Person, Person, Person, Person];
    everyone = [alice, bob, charlie, dave];
  }, 420_000);

  afterAll(async () => {
    await stage?.close();
  });

  it('Alice goes live; Bob, Charlie and Dave sign in on the watch page', { timeout: 240_000 }, async () => {
    if (!stage) throw new Error('not started');
    streamId = await goLive(alice, stage.stack.dapp, 'Moderated live');
    await joined(alice.page);
    watchPage = `${stage.stack.dapp}/watch/${streamId}`;
    for (const p of [bob, charlie, dave]) {
      await openApp(p.page, watchPage);
      await connectWallet(p);
      await signIn(p);
      await p.page.getByTestId('chat-input').waitFor(WAIT);
      await joined(p.page);
    }
    await say(charlie, 'Charlie says hi');
    // The creator moderates from the start: the menu is on each message in the studio, on no viewer's page.
    await row(alice.page, 'Charlie says hi').getByTestId('chat-mod-open').waitFor(WAIT);
    for (const p of [bob, charlie, dave]) {
      await expect.poll(() => texts(p.page), WAIT).toContain('Charlie says hi');
      expect(await p.page.getByTestId('chat-mod-open').count(), p.name).toBe(0);
    }
  });

  it('Alice names Bob a moderator in the studio; Bob’s badged message gives him the menu', {
    timeout: 120_000,
  }, async () => {
    const { page } = alice;
    await page.getByTestId('chat-mod-tools-open').click();
    await page.getByTestId('chat-moderator-address').fill(address.Bob ?? '');
    await page.getByTestId('chat-moderator-add').click();
    await page.locator(`[data-testid=chat-moderator][data-address="${address.Bob}"]`).waitFor(WAIT);
    await expect.poll(() => page.getByTestId('chat-mod-result').textContent(), WAIT).toBe('Moderator added.');
    await say(bob, 'Bob moderates now');
    for (const p of everyone) {
      const badge = row(p.page, 'Bob moderates now').getByTestId('chat-badge');
      await expect.poll(() => badge.getAttribute('data-badge'), WAIT).toBe('moderator');
    }
    await row(bob.page, 'Charlie says hi').getByTestId('chat-mod-open').waitFor(WAIT);
    expect(await charlie.page.getByTestId('chat-mod-open').count()).toBe(0);
  });

  it('Bob deletes Charlie’s message: it is gone for everyone', { timeout: 90_000 }, async () => {
    await say(charlie, 'spam spam spam');
    await say(dave, 'Dave was here');
    for (const p of everyone) await expect.poll(() => texts(p.page), WAIT).toContain('Dave was here');
    const result = await moderate(bob, 'spam spam spam', (menu) => menu.getByTestId('chat-mod-delete').click());
    expect(result).toEqual({ ok: true, text: expect.stringMatching(/^Deleted the message from /) });
    for (const p of everyone) {
      await expect.poll(() => texts(p.page), WAIT).not.toContain('spam spam spam');
      expect(await texts(p.page), p.name).toContain('Dave was here');
    }
  });

  it('Bob times Charlie out for 5 min: Charlie’s next message is refused with the sentence and the wait', {
    timeout: 90_000,
  }, async () => {
    const result = await moderate(bob, 'Charlie says hi', (menu) =>
      menu.locator('[data-testid=chat-mod-timeout][data-minutes="5"]').click(),
    );
    expect(result.ok, result.text).toBe(true);
    expect(result.text).toMatch(/ is timed out for 5 min \(until .+\)\.$/);
    const refusal = await post(charlie, 'am I still here?');
    expect(refusal).toBe(`${explainCode('CHAT_TIMED_OUT')} You can send again in 5 min.`);
    expect(await texts(dave.page)).not.toContain('am I still here?');
  });

  it('Bob bans Dave (and removes him from the stream): refused when posting, after a reload too', {
    timeout: 150_000,
  }, async () => {
    const result = await moderate(bob, 'Dave was here', async (menu) => {
      await menu.getByTestId('chat-mod-remove').check();
      await menu.getByTestId('chat-mod-ban').click();
    });
    expect(result).toEqual({
      ok: true,
      text: expect.stringMatching(/ is banned from this creator’s chat\. Sessions ended: 0\.$/),
    });
    expect(await post(dave, 'let me back in')).toBe(explainCode('CHAT_BANNED'));
    await dave.page.reload();
    await dave.page.getByTestId('wallet-button').filter({ hasText: 'Dave' }).waitFor(WAIT);
    await signIn(dave);
    await dave.page.getByTestId('chat-input').waitFor(WAIT);
    await joined(dave.page);
    expect(await post(dave, 'after a reload')).toBe(explainCode('CHAT_BANNED'));
    for (const p of [alice, bob, charlie]) {
      expect(await texts(p.page), p.name).not.toContain('let me back in');
      expect(await texts(p.page), p.name).not.toContain('after a reload');
    }
  });

  it('the studio’s log shows the actions newest first; Alice lifts Charlie’s timeout from it', {
    timeout: 90_000,
  }, async () => {
    const { page } = alice;
    const entries = page.getByTestId('chat-modlog-entry');
    const actions = async () => {
      await page.getByTestId('chat-modlog-refresh').click();
      return Promise.all((await entries.all()).map((e) => e.getAttribute('data-action')));
    };
    await expect.poll(actions, WAIT).toEqual(['ban', 'timeout', 'delete', 'moderators']);
    const targets = await Promise.all((await entries.all()).map((e) => e.getAttribute('data-target')));
    expect(targets).toEqual([address.Dave, address.Charlie, address.Charlie, '']);
    expect(await entries.first().textContent()).toContain('banned');
    await page.locator('[data-testid=chat-modlog-entry][data-action=timeout]').getByTestId('chat-modlog-unban').click();
    await expect.poll(() => page.getByTestId('chat-mod-result').textContent(), WAIT).toMatch(/ may chat again\.$/);
    await expect.poll(actions, WAIT).toEqual(['unban', 'ban', 'timeout', 'delete', 'moderators']);
    await say(charlie, 'back again');
    for (const p of everyone) await expect.poll(() => texts(p.page), WAIT).toContain('back again');
    await page.screenshot({ path: join(resultsDir, 'studio-moderation.png'), fullPage: true });
    await bob.page.screenshot({ path: join(resultsDir, 'watch-moderator.png'), fullPage: true });
    expectNoPageErrors(everyone);
  });

  it('Charlie tips with a message: pending, then confirmed for everyone with the chain’s amount; the studio shows it', {
    timeout: 240_000,
  }, async () => {
    if (!stage) throw new Error('not started');
    const { api } = stage;
    const decimals = api.registry.chainDecimals[0] ?? 12;
    const text = 'Great stream, have a tip!';
    // Every status a page's tip mark shows, recorded as the DOM changes (a status may last one render).
    await Promise.all(everyone.map((p) => p.page.evaluate(WATCH_TIPS)));
    const { page } = charlie;
    await page.getByTestId('chat-tip-open').click();
    await page.getByTestId('tip-amount').fill('0.5');
    await page.getByTestId('tip-text').fill(text);
    await page.getByTestId('tip-send').click();
    const status = page.getByTestId('tip-status');
    await expect
      .poll(async () => {
        const error = page.getByTestId('tip-error');
        if ((await error.count()) > 0) throw new Error(`the tip failed: ${await error.textContent()}`);
        return status.getAttribute('data-phase');
      }, LONG)
      .toBe('final');
    await page.getByTestId('tip-done').waitFor(LONG);
    const messageId = await row(page, text).getAttribute('data-id');
    const tips = (await protocolEvents(api, stage.firstBlock)).filter(
      (e): e is TipEvent => e.type === 'tip' && e.messageId === messageId,
    );
    expect(tips).toHaveLength(1);
    const onChain = tips[0] as TipEvent;
    tip = onChain;
    expect(onChain.amount).toBe(5n * 10n ** BigInt(decimals - 1));
    expect(accountHex(onChain.from)).toBe(accountHex(address.Charlie ?? ''));
    expect(accountHex(onChain.creator)).toBe(accountHex(address.Alice ?? ''));
    for (const p of everyone) {
      const mark = row(p.page, text).getByTestId('chat-tip');
      await expect.poll(() => mark.getAttribute('data-status'), LONG).toBe('final');
      expect(await mark.getAttribute('data-amount'), p.name).toBe(onChain.amount.toString());
      expect(await mark.textContent(), p.name).toMatch(/Tipped 0\.5 \S+ ✓ confirmed/);
      const seen = await p.page.evaluate<string[]>('globalThis.__tipStatuses ?? []');
      expect(seen.slice(0, seen.indexOf('final')), p.name).toContain('pending');
    }
    await expect
      .poll(() => alice.page.getByTestId('stat-tips').getAttribute('data-final'), LONG)
      .toBe(onChain.amount.toString());
    await page.screenshot({ path: join(resultsDir, 'watch-tip.png'), fullPage: true });
    await alice.page.screenshot({ path: join(resultsDir, 'studio-tip.png'), fullPage: true });
    expectNoPageErrors(everyone);
  });

  it('Alice’s earnings page shows the tip on its own, final, with the chain’s amount', {
    timeout: 120_000,
  }, async () => {
    if (!stage || !tip) throw new Error('no tip on chain');
    const amount = tip.amount.toString();
    // A second tab: leaving the studio page would end Alice's stream.
    const page = await alice.context.newPage();
    collectPageProblems(page, alice, alice.name);
    await openApp(page, `${stage.stack.dapp}/earnings`);
    await page.getByTestId('creator-address').fill(address.Alice ?? '');
    const planck = (id: string) => page.getByTestId('earnings-totals').getByTestId(id).getAttribute('data-planck');
    // The indexer follows the chain on its own: refreshed until it counts the tip as final (else what the page says).
    // It calls a block final only under a few more (npm start: INDEXER_FINALITY_DEPTH 3), and the dev chain builds
    // blocks only for transactions: while the page shows the tip pending, the chain gets one more block per round.
    const { api } = stage;
    const tipFinal = async () => {
      await page.getByTestId('earnings-refresh').click();
      const status = page.getByTestId('earnings-status');
      if ((await status.count()) > 0) return `status: ${await status.textContent()}`;
      if ((await page.getByTestId('total-tip-final').count()) === 0) {
        return `shown: ${await page.getByTestId('earnings-totals').textContent()}`;
      }
      const final = await planck('total-tip-final');
      if (final !== amount && (await planck('total-tip-pending')) !== '0') await api.rpc('dev_newBlock' as never);
      return final;
    };
    await expect.poll(tipFinal, { timeout: 90_000, interval: 1_000 }).toBe(amount);
    expect(await planck('total-tip-pending')).toBe('0');
    // Nobody paid to watch this stream: the tip is all there is, and none of it counts as live earnings.
    expect([await planck('total-live-final'), await planck('total-live-pending')]).toEqual(['0', '0']);
    expect(await planck('total-final')).toBe(amount);
    const stream = page.locator(`[data-testid=earnings-table] tr[data-stream-id="${streamId}"]`);
    expect(await stream.getByTestId('stream-tip-final').getAttribute('data-planck')).toBe(amount);
    expect(await stream.getByTestId('stream-tip-pending').getAttribute('data-planck')).toBe('0');
    await page.screenshot({ path: join(resultsDir, 'earnings-tip.png'), fullPage: true });
    await page.close();
    expectNoPageErrors([alice]);
  });

  it('on Alice’s next stream Dave is still banned: refused with the sentence, while Charlie chats', {
    timeout: 240_000,
  }, async () => {
    if (!stage) throw new Error('not started');
    await alice.page.getByTestId('end-stream').click();
    await alice.page.getByText('Your stream has ended.').waitFor(WAIT);
    // The summary's tips are the chain's tip (nobody paid to watch: nothing earned live).
    const summary = (id: string) => alice.page.getByTestId(id).getAttribute('data-planck');
    await expect.poll(() => summary('summary-tips'), WAIT).toBe(tip?.amount.toString());
    expect([await summary('summary-earned'), await summary('summary-settled')]).toEqual(['0', '0']);
    const next = await goLive(alice, stage.stack.dapp, 'Moderated live, the next one');
    expect(next).not.toBe(streamId);
    await joined(alice.page);
    for (const p of [charlie, dave]) {
      await openApp(p.page, `${stage.stack.dapp}/watch/${next}`);
      await connectWallet(p);
      await signIn(p);
      await p.page.getByTestId('chat-input').waitFor(WAIT);
      await joined(p.page);
    }
    expect(await post(dave, 'a new stream, a new start?')).toBe(explainCode('CHAT_BANNED'));
    await say(charlie, 'Charlie on the next stream');
    await expect.poll(() => texts(alice.page), WAIT).toContain('Charlie on the next stream');
    for (const p of [alice, charlie]) expect(await texts(p.page), p.name).not.toContain('a new stream, a new start?');
    await dave.page.screenshot({ path: join(resultsDir, 'watch-banned-next-stream.png'), fullPage: true });
    expectNoPageErrors(everyone);
  });
});
