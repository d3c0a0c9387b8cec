// The dapp served by its dev server (as `npm start` runs it) and loaded in real Chromium.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, launchBrowser, openApp } from './support/browser.ts';
import { type DappServer, freePort, startDappDevServer } from './support/devServer.ts';

const resultsDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-results');

describe('dapp in Chromium', () => {
  let server: DappServer | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    mkdirSync(resultsDir, { recursive: true });
    // Nothing listens on these ports: the directory must explain that it cannot reach the signaling server.
    const [signalingPort, indexerPort, chainPort] = [await freePort(), await freePort(), await freePort()];
    server = await startDappDevServer({
      PUBLIC_SIGNALING_URL: `http://127.0.0.1:${signalingPort}`,
      PUBLIC_INDEXER_URL: `http://127.0.0.1:${indexerPort}`,
      PUBLIC_CHAIN_WS_URL: `ws://127.0.0.1:${chainPort}`,
    });
    browser = await launchBrowser();
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('answers the health check', async () => {
    const res = await fetch(`${server?.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });

  it('renders the directory with navigation and a friendly unreachable state', async () => {
    await openApp(page, `${server?.url}/`);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Live now');
    const nav = await page.locator('nav a').allTextContents();
    expect(nav).toEqual(['Directory', 'Studio', 'Earnings']);
    expect(await page.getByTestId('wallet-button').textContent()).toContain('Connect wallet');
    const status = page.getByTestId('directory-status');
    await expect.poll(() => status.textContent(), { timeout: 10_000 }).toContain("can't reach the stream directory");
    await page.screenshot({ path: join(resultsDir, 'directory-unreachable.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  });

  it('never offers the dev wallet when the chain is not the dev chain', async () => {
    await openApp(page, `${server?.url}/`);
    await page.getByTestId('wallet-button').click();
    await page.getByText('No Polkadot wallet extension was found').waitFor();
    // The configured chain does not answer: once the check is over, nothing may be offered.
    await page.getByTestId('dev-chain-check').waitFor({ state: 'detached', timeout: 20_000 });
    expect(await page.getByTestId('use-dev-wallet').count()).toBe(0);
    expect(await page.getByTestId('wallet-button').textContent()).toContain('Connect wallet');
  });

  it('fits a 375 px wide screen without horizontal scrolling', async () => {
    await page.setViewportSize({ width: 375, height: 740 });
    await openApp(page, `${server?.url}/`);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Live now');
    await expect.poll(() => page.getByTestId('directory-status').textContent()).toContain('reach');
    const scrollWidth = await page.evaluate('document.documentElement.scrollWidth');
    expect(scrollWidth).toBeLessThanOrEqual(375);
    await page.screenshot({ path: join(resultsDir, 'directory-375.png'), fullPage: true });
  });
});
