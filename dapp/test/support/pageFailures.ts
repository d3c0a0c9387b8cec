// What a browser test tells when it fails: each page's uncaught errors and console errors are collected as it runs;
// the first failed step reports what every person saw and what the stack logged, and the steps after it are skipped.
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { beforeEach, expect } from 'vitest';

/** Where a page's problems are collected. */
export interface PageProblems {
  /** Uncaught exceptions of the page. */
  pageErrors: string[];
  /** Console errors of the page (told on failure, not failing a test by themselves). */
  consoleErrors: string[];
}

/** A person whose page is reported on failure. */
interface Reported extends PageProblems {
  name: string;
  page: Page;
}

/** Collects `page`'s problems into `into`; with PERSECOND_TEST_CONSOLE set, prints its whole console as `label`. */
export function collectPageProblems(page: Page, into: PageProblems, label: string): void {
  page.on('pageerror', (e) => into.pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') into.consoleErrors.push(m.text());
    if (process.env.PERSECOND_TEST_CONSOLE) console.log(`[${label}] ${m.type()} ${m.text()}`);
  });
}

/** Screenshots into `dir`, each person's page text and problems, and the stack's last lines, to tell why. */
export async function reportPages(dir: string, people: readonly Reported[], stackOutput: string): Promise<void> {
  for (const p of people) {
    await p.page.screenshot({ path: join(dir, `failure-${p.name}.png`), fullPage: true }).catch(() => undefined);
    const text = await p.page
      .locator('main')
      .textContent({ timeout: 2_000 })
      .catch(() => '');
    const console_ = p.consoleErrors.length > 0 ? `\nconsole errors:\n${p.consoleErrors.join('\n')}` : '';
    console.error(`--- ${p.name} (${p.page.url()}):\n${text}\n${p.pageErrors.join('\n')}${console_}`);
  }
  console.error(`--- stack (last lines):\n${stackOutput.split('\n').slice(-60).join('\n')}`);
}

/**
 * For a describe whose steps build on each other: the first failed step runs `report`, and every later step is
 * skipped at once instead of waiting out its timeouts. Call it inside the describe.
 */
export function stopAtFirstFailure(report: () => Promise<void>): void {
  let broken = false;
  beforeEach((ctx) => {
    if (broken) ctx.skip('an earlier step failed');
    ctx.onTestFailed(async () => {
      broken = true;
      await report();
    });
  });
}

/** Fails unless none of `people`'s pages threw an uncaught error. */
export function expectNoPageErrors(people: readonly { name: string; pageErrors: string[] }[]): void {
  for (const p of people) expect(p.pageErrors, p.name).toEqual([]);
}
