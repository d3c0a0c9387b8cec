// Going live from OBS, end to end in real Chromium on the stack as `npm start` runs it: Alice creates and announces a
// stream in the studio and creates a stream key in "Stream from OBS" (shown once); a WHIP client (libwebrtc from the
// test process, as OBS's WHIP output would) publishes with that key to the server URL the panel shows; the panel says the
// key is publishing; Bob pays and watches the stream decode in his player; Alice revokes the key: the broadcast stops
// (Bob sees the creator away) and the key is refused as revoked.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWhipPublisher, type WhipPublisher, whipPost } from '../../signaling/test/support/whipClient.ts';
import { openApp } from './support/browser.ts';
import { expectNoPageErrors, stopAtFirstFailure } from './support/pageFailures.ts';
import { connectWallet, framesDecoded, type Person, signIn } from './support/people.ts';
import { type Stage, setStage } from './support/stage.ts';

const resultsDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-results', 'obs-ingest');

describe('going live from OBS (WHIP) with a stream key from the studio', () => {
  let stage: Stage | undefined;
  let alice: Person;
  let bob: Person;
  let streamId = '';
  let token = '';
  let whipUrl = '';
  let whip: WhipPublisher | undefined;
  stopAtFirstFailure(async () => {
    await stage?.report(resultsDir);
  });

  beforeAll(async () => {
    mkdirSync(resultsDir, { recursive: true });
    stage = await setStage(['Alice', 'Bob'], { readyTimeoutMs: 300_000 });
    const cast = (name: string): Person => {
      const p = stage?.people[name];
      if (!p) throw new Error(`no ${name}`);
      return p;
    };
    [alice, bob] = [cast('Alice'), cast('Bob')];
    // The dev server compiles each route on its first load: slow on a loaded 2-core machine.
    for (const p of [alice, bob]) p.page.setDefaultNavigationTimeout(120_000);
  }, 420_000);

  afterAll(async () => {
    whip?.close();
    await stage?.close();
  });

  it('Alice announces a stream and creates its key: the token is shown once, with the WHIP server URL', {
    timeout: 180_000,
  }, async () => {
    const stack = stage?.stack;
    if (!stack) throw new Error('not started');
    const { page } = alice;
    await openApp(page, `${stack.dapp}/studio`);
    await connectWallet(alice);
    await signIn(alice);
    await page.getByTestId('title').fill('Live from OBS');
    await page.getByTestId('create').click();
    // Announced on chain: the studio offers to go live (from the browser, or from OBS).
    await page.getByTestId('go-live').waitFor({ timeout: 90_000 });
    await page.getByTestId('create-stream-key').click();
    const issued = page.getByTestId('issued-token');
    await issued.waitFor({ timeout: 20_000 });
    token = (await issued.textContent())?.trim() ?? '';
    expect(token).toMatch(/^psk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    whipUrl = (await page.getByTestId('whip-url').textContent())?.trim() ?? '';
    expect(whipUrl).toBe(`${stack.signaling}/whip`);
    streamId = (await page.locator('[data-testid=stream-keys] li[data-key-id]').first().textContent()) ?? '';
    streamId = /Stream ([A-Za-z0-9_-]+)/.exec(streamId)?.[1] ?? '';
    expect(streamId).not.toBe('');
    await page.screenshot({ path: join(resultsDir, 'studio-key-issued.png'), fullPage: true });
    // Once saved, the token is gone from the page (the list shows key ids only).
    await page.getByRole('button', { name: 'I have saved it' }).click();
    await issued.waitFor({ state: 'detached', timeout: 10_000 });
    expect(await page.content()).not.toContain(token);
  });

  it('a WHIP client publishes with the key; the studio shows it publishing and Bob watches it decode', {
    timeout: 240_000,
  }, async () => {
    const stack = stage?.stack;
    if (!stack) throw new Error('not started');
    whip = await startWhipPublisher(whipUrl, token);
    expect(whip.answer.status, whip.answer.text).toBe(201);
    await whip.connected(30_000);
    await expect
      .poll(
        async () =>
          (
            (await alice.page
              .getByTestId('obs-publishing')
              .textContent()
              .catch(() => '')) ?? ''
          ).replace(/\s+/g, ' '),
        { timeout: 30_000 },
      )
      .toMatch(new RegExp(`publishing with key [0-9a-f]{16} to stream ${streamId}`));
    // The studio no longer offers to go live from the camera: the stream is live from OBS.
    await alice.page.getByTestId('obs-live').waitFor({ timeout: 10_000 });
    expect(await alice.page.getByTestId('go-live').count()).toBe(0);

    const { page } = bob;
    await openApp(page, `${stack.dapp}/watch/${streamId}`);
    await connectWallet(bob);
    await signIn(bob);
    await expect.poll(() => page.getByTestId('budget').inputValue(), { timeout: 20_000 }).not.toBe('');
    await page.getByTestId('watch').click();
    await page.getByTestId('mode').waitFor({ timeout: 90_000 });
    await expect.poll(() => framesDecoded(page), { timeout: 60_000 }).toBeGreaterThan(30);
    await page.screenshot({ path: join(resultsDir, 'bob-watching.png'), fullPage: true });
    await alice.page.screenshot({ path: join(resultsDir, 'studio-publishing.png'), fullPage: true });
  });

  it('Alice revokes the key: the broadcast stops (creator away for Bob) and the key is refused as revoked', {
    timeout: 120_000,
  }, async () => {
    const { page } = alice;
    await page
      .locator('[data-testid=stream-keys] li[data-key-id]')
      .first()
      .getByRole('button', { name: 'Revoke' })
      .click();
    await page
      .locator('[data-testid=stream-keys] li[data-key-id]')
      .first()
      .waitFor({ state: 'detached', timeout: 20_000 });
    await bob.page.getByTestId('creator-away').waitFor({ timeout: 30_000 });
    const again = await whipPost(whipUrl, whip?.pc.localDescription?.sdp ?? 'v=0\r\n', { token });
    expect([again.status, again.json?.code]).toEqual([401, 'STREAM_KEY_REVOKED']);
    expectNoPageErrors([alice, bob]);
  });
});
