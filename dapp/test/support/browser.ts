// Debian Chromium driven by playwright-core with a fresh profile (flags from the browser recipe).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, type BrowserContextOptions, chromium, type Page } from 'playwright-core';

const BASE_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Flags for WebRTC over loopback with a fake camera and microphone. */
export const WEBRTC_ARGS = [
  '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
];

/** A running browser with its own profile directory. */
export interface Browser {
  context: BrowserContext;
  /** Closes the browser and removes its profile; safe to call twice. */
  close(): Promise<void>;
}

/** Launches headless Chromium with a fresh profile. */
export async function launchBrowser(args: string[] = []): Promise<Browser> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'persecond-dapp-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    chromiumSandbox: false,
    args: [...BASE_ARGS, ...args],
    viewport: { width: 1024, height: 768 },
  });
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    })();
    return closing;
  };
  return { context, close };
}

/** One Chromium process with several isolated contexts (one person each): lighter than a browser per person. */
export interface SharedBrowser {
  /** A fresh context (own storage, cookies and init scripts). */
  newContext(options?: BrowserContextOptions): Promise<BrowserContext>;
  /** Closes every context and the browser; safe to call twice. */
  close(): Promise<void>;
}

/** Launches headless Chromium for several people at once (contexts share the launch flags, e.g. the fake camera). */
export async function launchSharedBrowser(args: string[] = []): Promise<SharedBrowser> {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    chromiumSandbox: false,
    args: [...BASE_ARGS, ...args],
  });
  let closing: Promise<void> | undefined;
  return {
    newContext: (options) => browser.newContext({ viewport: { width: 1024, height: 768 }, ...options }),
    close: () => {
      closing ??= browser.close();
      return closing;
    },
  };
}

/**
 * Navigates to `url` and waits until the app is hydrated (interactive). The bounds are generous: on a machine at load
 * 25 a dev-server page took over 30 s to hydrate; they only decide how long a page that never loads takes to fail.
 */
export async function openApp(page: Page, url: string): Promise<void> {
  await page.goto(url, { timeout: 90_000 });
  await page.waitForSelector('html[data-ready="true"]', { state: 'attached', timeout: 90_000 });
}
