// A browser test's stage: the stack as `npm start` runs it, one shared Chromium, the injected wallet bundle, a chain
// connection, and one person (browser context with their dev wallet) per name; what each saw is printed on failure.
import { ApiPromise, WsProvider } from '@polkadot/api';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { launchSharedBrowser, WEBRTC_ARGS } from './browser.ts';
import { headNumber } from './chainEvents.ts';
import { buildInjectedWallet } from './injectedWallet.ts';
import { reportPages } from './pageFailures.ts';
import { type Person, person } from './people.ts';
import { type Stack, type StackOptions, startStack } from './stack.ts';

/** Everything a browser test runs on. */
export interface Stage {
  stack: Stack;
  api: ApiPromise;
  /** People by dev name (`Alice` for `//Alice`). */
  people: Record<string, Person>;
  /** The first block after the stage was set: chain reads of the test start here. */
  firstBlock: number;
  /** Screenshots into `dir`, each person's page text and problems, and the stack's last lines, to tell why. */
  report(dir: string): Promise<void>;
  close(): Promise<void>;
}

/** Starts the stack, Chromium and the wallet bundle together, then opens one context per dev `names` entry. */
export async function setStage(names: readonly string[], opts: StackOptions = {}): Promise<Stage> {
  await cryptoWaitReady();
  const [stack, bundle, browser] = await Promise.all([
    startStack(opts),
    buildInjectedWallet(),
    launchSharedBrowser(WEBRTC_ARGS),
  ]);
  const api = await ApiPromise.create({ provider: new WsProvider(stack.chain), noInitWarn: true });
  const firstBlock = (await headNumber(api)) + 1;
  const list = await Promise.all(names.map(async (n) => person(await browser.newContext(), bundle.path, `//${n}`)));
  const people = Object.fromEntries(list.map((p) => [p.name, p]));
  return {
    stack,
    api,
    people,
    firstBlock,
    report: (dir) => reportPages(dir, list, stack.output()),
    async close() {
      await browser.close();
      await api.disconnect();
      await stack.close();
      bundle.dispose();
    },
  };
}
