// The dapp in real Chromium against the real dev chain: wallet choice (an injected extension's accounts; the dev wallet
// only when no extension exists and the chain is the dev chain), then the studio, watch and earnings pages.
import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DevChain, startDevChain } from '@persecond/contracts-client';
import { type Indexer, loadIndexerConfig, startIndexer } from '@persecond/indexer';
import { ApiPromise, WsProvider } from '@polkadot/api';
import type { SubmittableExtrinsic } from '@polkadot/api/types';
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAnnouncement } from '../src/lib/chain/announce.ts';
import { createSessionKey, sessionIdOf, sessionKeyPair } from '../src/lib/payment/sessionKey.ts';
import { buildFunding, buildSettlement } from '../src/lib/payment/transactions.ts';
import { type Browser, launchBrowser, openApp, WEBRTC_ARGS } from './support/browser.ts';
import { type DappServer, freePort, startDappDevServer } from './support/devServer.ts';
import { buildInjectedWallet, injectWallet } from './support/injectedWallet.ts';

/** A valid, canonical CIDv1 for the announced stream's metadata. */
const SAMPLE_CID = 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy';

/**
 * Signs and sends `tx`, resolving once it is in a block without a dispatch error. Chopsticks sometimes reports
 * a block as Finalized without an InBlock update first: either counts.
 */
function send(tx: SubmittableExtrinsic<'promise'>, pair: KeyringPair): Promise<void> {
  let last = 'unsent';
  let timer: ReturnType<typeof setTimeout> | undefined;
  return new Promise<void>((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${tx.method.section}.${tx.method.method} stuck at ${last}`)), 40_000);
    tx.signAndSend(pair, { nonce: -1 }, (r) => {
      last = r.status.type;
      if (r.dispatchError) reject(new Error(`dispatch error ${r.dispatchError.toString()}`));
      else if (r.status.isInBlock || r.status.isFinalized) resolve();
      else if (r.status.isInvalid || r.status.isDropped) reject(new Error(`transaction ${r.status.type}`));
    }).catch(reject);
  }).finally(() => {
    clearTimeout(timer);
  });
}

const resultsDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-results');

describe('dapp on the dev chain', () => {
  let chain: DevChain | undefined;
  let indexer: Indexer | undefined;
  let server: DappServer | undefined;
  let browser: Browser | undefined;
  let bundle: Awaited<ReturnType<typeof buildInjectedWallet>> | undefined;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    mkdirSync(resultsDir, { recursive: true });
    [chain, bundle] = await Promise.all([startDevChain(), buildInjectedWallet()]);
    indexer = await startIndexer(
      loadIndexerConfig({ CHAIN_WS_URL: chain.wsUrl, PORT: '0', INDEXER_DATA_DIR: 'memory://', LOG_LEVEL: 'warn' }),
    );
    server = await startDappDevServer({
      PUBLIC_SIGNALING_URL: `http://127.0.0.1:${await freePort()}`,
      PUBLIC_INDEXER_URL: indexer.url,
      PUBLIC_CHAIN_WS_URL: chain.wsUrl,
    });
    browser = await launchBrowser(WEBRTC_ARGS);
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await indexer?.close();
    await chain?.close();
    bundle?.dispose();
  });

  it('offers a clearly labelled dev wallet when no extension exists and the chain is the dev chain', async () => {
    await openApp(page, `${server?.url}/`);
    await page.getByTestId('wallet-button').click();
    await page.getByText('No Polkadot wallet extension was found').waitFor();
    await page.getByTestId('use-dev-wallet').click({ timeout: 20_000 });
    const button = page.getByTestId('wallet-button');
    await expect.poll(() => button.textContent()).toContain('Alice (dev)');
    expect(await button.locator('.dev-tag').textContent()).toBe('DEV');
    const options = await page.locator('#account-picker option').allTextContents();
    expect(options.map((o) => o.split(' · ')[0])).toEqual(
      ['Alice', 'Bob', 'Charlie', 'Dave', 'Eve', 'Ferdie'].map((n) => `${n} (dev)`),
    );
    expect(options[0]).toContain(`${chain?.accounts.Alice.slice(0, 6)}…${chain?.accounts.Alice.slice(-4)}`);
    await page.locator('#account-picker').selectOption({ index: 1 });
    await expect.poll(() => button.textContent()).toContain('Bob (dev)');
    await page.screenshot({ path: join(resultsDir, 'wallet-dev.png') });
    // A reload keeps the person connected, as the account they picked.
    await openApp(page, `${server?.url}/`);
    await expect
      .poll(() => page.getByTestId('wallet-button').textContent(), { timeout: 20_000 })
      .toContain('Bob (dev)');
    expect(pageErrors).toEqual([]);
  });

  it('studio: converts the typed price exactly, shows the settlement fee from the chain and previews the camera', async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    await page.locator('nav a', { hasText: 'Studio' }).click();
    await expect.poll(() => page.locator('h1').textContent(), { timeout: 30_000 }).toBe('Studio');
    // Signing in needs the signaling server, which is not running here: a sentence, not a stack trace.
    await page.getByTestId('sign-in').click();
    await expect.poll(() => page.getByRole('alert').first().textContent()).toContain('cannot be reached');
    // Nor can the server's payment terms be read: said so, and the chain's fee is still shown for the usual intervals.
    await expect.poll(() => page.getByTestId('payment-terms-error').textContent()).toContain('payment terms');

    await page.getByTestId('price').fill('0.0015');
    await expect
      .poll(() => page.getByTestId('price-summary').textContent())
      .toMatch(/0\.0015 ROC per second · 5\.4 ROC per hour\s*= 1500000000 planck\/s/);
    const fee = await page.getByTestId('fee-overhead').textContent({ timeout: 20_000 });
    expect(fee).toMatch(/about [\d.]+ ROC in fees, that is \d+\.\d\d % on top/);
    await page.getByTestId('price').fill('0.0000000000001');
    expect(await page.getByTestId('price-error').textContent()).toBe('Use at most 12 digits after the decimal point.');
    await page.getByTestId('price').fill('0.0015');

    await page.getByTestId('open-camera').click();
    await expect
      .poll(() => page.evaluate('document.querySelector("[data-testid=preview]").videoWidth'))
      .toBeGreaterThan(0);
    expect(await page.getByTestId('camera-picker').locator('option').count()).toBeGreaterThan(0);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    await page.screenshot({ path: join(resultsDir, 'studio-375.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  });

  // Five blocks of the real runtime, then the indexer catching up: generous on a shared 2-core machine.
  it("earnings: Alice's page shows exactly what the chain shows she received", { timeout: 150_000 }, async () => {
    if (!chain) throw new Error('not started');
    const api = await ApiPromise.create({ provider: new WsProvider(chain.wsUrl), noInitWarn: true });
    try {
      const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
      const alice = keyring.addFromUri('//Alice');
      const bob = keyring.addFromUri('//Bob');
      const key = createSessionKey(42);
      const sessionId = sessionIdOf(key.address);
      const streamId = `earn_${sessionId}`;
      const price = 1_234_567_891n;
      await send(buildAnnouncement(api, streamId, SAMPLE_CID), alice);
      await send(
        buildFunding(api, {
          asset: 'native',
          sessionAccount: key.address,
          sessionId,
          budget: 10n ** 13n,
          nativeForFees: 10n ** 11n,
        }),
        bob,
      );
      const before = (await api.query.system.account(alice.address)).data.free.toBigInt();
      for (const seq of [10, 17])
        await send(
          buildSettlement(api, {
            asset: 'native',
            creator: alice.address,
            amount: (seq === 10 ? 10n : 7n) * price,
            streamId,
            sessionId,
            seq,
          }),
          sessionKeyPair(key, 42),
        );
      const received = (await api.query.system.account(alice.address)).data.free.toBigInt() - before;
      expect(received).toBe(17n * price);

      await page.setViewportSize({ width: 375, height: 800 });
      await openApp(page, `${server?.url}/earnings`);
      await page.getByTestId('creator-address').fill(alice.address);
      // The indexer follows the chain; the page shows the settlements once they are indexed.
      const row = page.getByTestId('earnings-table').locator('tr', { hasText: streamId });
      const shownAmounts = async () => {
        if ((await row.count()) === 0) return [];
        // The stream's final and pending columns (the kinds' columns after them split the same amounts).
        return (await row.locator('td').allTextContents()).slice(1, 3).filter((t) => t !== '0 ROC');
      };
      await expect
        .poll(
          async () => {
            await page.getByTestId('earnings-refresh').click();
            return shownAmounts();
          },
          { timeout: 30_000, interval: 1_000 },
        )
        .toEqual(['0.0209 ROC']);
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('csv-export').click()]);
      const csv = await readFile(await download.path(), 'utf8');
      const line = csv.split('\r\n').find((l) => l.startsWith(`${streamId},`));
      const [id, asset, final, pending] = line?.split(',') ?? [];
      expect([id, asset]).toEqual([streamId, 'native']);
      // Every planck Alice received is there, in block (pending) or finalized (final).
      expect(BigInt(final ?? 'x') + BigInt(pending ?? 'x')).toBe(received);
      // All of it earned by watching: the live columns hold it, the tips' are empty.
      const planck = async (testId: string) =>
        BigInt((await row.getByTestId(testId).getAttribute('data-planck')) ?? 'x');
      expect((await planck('stream-live-final')) + (await planck('stream-live-pending'))).toBe(received);
      expect((await planck('stream-tip-final')) + (await planck('stream-tip-pending'))).toBe(0n);
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
      await page.screenshot({ path: join(resultsDir, 'earnings-375.png'), fullPage: true });
      expect(pageErrors).toEqual([]);
    } finally {
      await api.disconnect();
    }
  });

  it('the watch page explains what is wrong when the signaling server cannot be reached', async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    await openApp(page, `${server?.url}/watch/no-such-stream`);
    await expect
      .poll(() => page.getByTestId('watch-status').textContent(), { timeout: 10_000 })
      .toContain("We can't open this stream.");
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    await page.screenshot({ path: join(resultsDir, 'watch-unreachable-375.png'), fullPage: true });
    await page.setViewportSize({ width: 1024, height: 768 });
    expect(pageErrors).toEqual([]);
  });

  it('uses the injected extension and never offers the dev wallet next to it', async () => {
    if (!browser || !bundle) throw new Error('not started');
    await injectWallet(browser.context, bundle.path, ['//Charlie', '//Dave']);
    await openApp(page, `${server?.url}/`);
    await page.getByTestId('wallet-button').click();
    const button = page.getByTestId('wallet-button');
    await expect.poll(() => button.textContent(), { timeout: 20_000 }).toContain('Charlie');
    expect(await button.locator('.dev-tag').count()).toBe(0);
    const options = await page.locator('#account-picker option').allTextContents();
    expect(options.map((o) => o.split(' · ')[0])).toEqual(['Charlie', 'Dave']);
    expect(await page.getByTestId('use-dev-wallet').count()).toBe(0);
    // Only access was asked for: nothing was signed.
    const log = (await page.evaluate('globalThis.__testWalletLog.map((e) => e.ev)')) as string[];
    expect(log.length).toBeGreaterThan(0);
    expect(log.every((ev) => ev === 'enable')).toBe(true);
    expect(pageErrors).toEqual([]);
  });
});
