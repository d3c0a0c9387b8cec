// What a person does in the dapp, through real clicks: connect the (injected) wallet, sign in, go live, watch.
import type { BrowserContext, Page } from 'playwright-core';
import { openApp } from './browser.ts';
import { injectWallet } from './injectedWallet.ts';
import { collectPageProblems, type PageProblems } from './pageFailures.ts';

/** One person: their browser context (with their wallet injected), page, and the page's problems seen so far. */
export interface Person extends PageProblems {
  name: string;
  context: BrowserContext;
  page: Page;
}

/** Opens a page in `context` with an injected wallet holding `uri` (named after it, e.g. `//Bob` → Bob). */
export async function person(context: BrowserContext, bundlePath: string, uri: string): Promise<Person> {
  await injectWallet(context, bundlePath, [uri]);
  const page = await context.newPage();
  const problems: PageProblems = { pageErrors: [], consoleErrors: [] };
  collectPageProblems(page, problems, uri);
  return { name: uri.replace('//', ''), context, page, ...problems };
}

/** Connects the injected wallet from the header and closes the wallet panel again. */
export async function connectWallet(p: Person): Promise<void> {
  const button = p.page.getByTestId('wallet-button');
  await button.click();
  await button.filter({ hasText: p.name }).waitFor({ timeout: 20_000 });
  // The panel opened by the click would cover the page on a narrow screen.
  if ((await p.page.getByRole('dialog', { name: 'Wallet' }).count()) > 0) await button.click();
}

/**
 * Signs in to the signaling server from the current page (one wallet signature) and waits until the page stays signed
 * in. The panel shows the sign-in button whenever nobody is signed in: gone for a moment (a re-render of the wallet's
 * accounts) is not signed in, and a click that landed while the page re-rendered is clicked again. A refusal is
 * thrown with what the page says.
 */
export async function signIn(p: Person): Promise<void> {
  const button = p.page.getByTestId('sign-in');
  const deadline = Date.now() + 60_000;
  await button.click();
  for (;;) {
    const timeout = Math.max(1, Math.min(10_000, deadline - Date.now()));
    const gone = await button.waitFor({ state: 'detached', timeout }).then(
      () => true,
      () => false,
    );
    if (gone) {
      await p.page.waitForTimeout(1_000);
      if ((await button.count()) === 0) return;
    }
    const refusal = p.page.locator('[data-testid=sign-in] ~ [role=alert]');
    if ((await refusal.count()) > 0) throw new Error(`sign-in refused: ${await refusal.first().textContent()}`);
    if (Date.now() > deadline) throw new Error('the page did not stay signed in');
    if (await button.isEnabled()) await button.click();
  }
}

/**
 * A creator's studio: creates and announces a stream (with the chosen payment `terms`) with the fake camera and goes
 * live; resolves with its id.
 */
export async function goLive(
  p: Person,
  dappUrl: string,
  title: string,
  terms: { settleEverySeconds?: number; payAhead?: boolean } = {},
): Promise<string> {
  const { page } = p;
  await openApp(page, `${dappUrl}/studio`);
  await connectWallet(p);
  await signIn(p);
  await page.getByTestId('title').fill(title);
  if (terms.settleEverySeconds !== undefined)
    await page.getByTestId('settle-every').selectOption(String(terms.settleEverySeconds));
  if (terms.payAhead) await page.getByTestId('pay-ahead').check();
  await page.getByTestId('open-camera').click();
  await page.waitForFunction('document.querySelector("[data-testid=preview]")?.videoWidth > 0', undefined, {
    timeout: 20_000,
  });
  await page.getByTestId('create').click();
  // The announcement goes on chain; the stream may go live once it is in a block.
  await page.locator('[data-testid=go-live]:enabled').click({ timeout: 60_000 });
  await page.locator('[data-testid=live-stats], [data-testid=studio-error]').first().waitFor({ timeout: 60_000 });
  const problem = page.getByTestId('studio-error');
  if ((await problem.count()) > 0) throw new Error(`going live failed: ${await problem.textContent()}`);
  const streamId = await page.getByTestId('live-stats').getAttribute('data-stream-id');
  if (!streamId) throw new Error('the studio shows no stream id');
  return streamId;
}

/** Video frames the page's player decoded so far. */
export function framesDecoded(page: Page): Promise<number> {
  // Page scripts as text: this project's Node typings have no DOM.
  return page.evaluate<number>(
    'document.querySelector("[data-testid=player]")?.getVideoPlaybackQuality().totalVideoFrames ?? 0',
  );
}

/** The player's position in seconds. */
export function mediaTime(page: Page): Promise<number> {
  return page.evaluate<number>('document.querySelector("[data-testid=player]")?.currentTime ?? 0');
}

/** Throws unless the page can be used without scrolling sideways at its current (narrow) width. */
export async function expectNoSidewaysScroll(page: Page): Promise<void> {
  const width = page.viewportSize()?.width ?? 0;
  const scrollWidth = await page.evaluate<number>('document.documentElement.scrollWidth');
  if (scrollWidth > width) throw new Error(`${page.url()} scrolls sideways at ${width} px (${scrollWidth} px wide)`);
}

/**
 * How long a leave may take: it waits for a settlement still on its way (the submitter gives one up to 120 s to be
 * included) and then for the final settlement's block; on a busy machine either can take most of a minute.
 */
export const LEAVE_TIMEOUT_MS = 150_000;

/** Clicks Leave on a watch page and waits for "You left"; a timeout says what the page's watch session was doing. */
export async function leaveWatch(page: Page, timeoutMs = LEAVE_TIMEOUT_MS): Promise<void> {
  await page.getByTestId('leave').click();
  try {
    await page.getByTestId('left').waitFor({ timeout: timeoutMs });
  } catch (err) {
    // Page scripts as text: this project's Node typings have no DOM.
    const state = await page
      .evaluate<string>(
        `JSON.stringify((({ phase, owed, settled, pending, paymentRequired, mediaPaused, problem, final }) =>
          ({ phase, owed: String(owed), settled: String(settled), pending: String(pending), paymentRequired,
             mediaPaused, problem: problem ? String(problem) : undefined, final }))(globalThis.__persecondWatch ?? {}))`,
      )
      .catch((e: unknown) => `unreadable (${String(e)})`);
    throw new Error(`"You left" did not show within ${timeoutMs} ms; the page's watch session: ${state}`, {
      cause: err,
    });
  }
}
