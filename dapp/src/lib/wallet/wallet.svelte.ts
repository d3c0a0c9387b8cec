// The person's wallet: a browser extension (through @polkadot/extension-dapp) or, on the dev chain only,
// a clearly labelled dev wallet made of the well-known dev accounts.
import type { SubmittableExtrinsic } from '@polkadot/api/types';
import type { InjectedExtension } from '@polkadot/extension-inject/types';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { ISubmittableResult } from '@polkadot/types/types';
import type { HexString } from '@polkadot/util/types';
import { AuthSession } from '../auth/session.svelte.ts';
import { chainApi, connectedToDevChain } from '../chain/api.ts';
import { DEV_SS58 } from '../chain/devChain.ts';
import { explain, UserFacingError } from '../errors.ts';

/** An account the person can act as. */
export interface WalletAccount {
  address: string;
  name: string;
  /** Extension name, or `dev` for the dev wallet. */
  source: string;
}

/** Where the wallet stands. */
export type WalletStatus = 'idle' | 'connecting' | 'connected' | 'no-extension' | 'error';

const APP_NAME = 'Persecond';
const DEV_NAMES = ['Alice', 'Bob', 'Charlie', 'Dave', 'Eve', 'Ferdie'] as const;
const SELECTED_KEY = 'persecond.wallet.selected';
const KIND_KEY = 'persecond.wallet.kind';

/** Reactive wallet state shared by every page. */
export class Wallet {
  status = $state<WalletStatus>('idle');
  accounts = $state<WalletAccount[]>([]);
  selectedAddress = $state<string | undefined>();
  /** True when the dev wallet may be offered (no extension, dev chain). */
  devWalletOffered = $state(false);
  /** Whether the dev-chain check behind `devWalletOffered` is still running. */
  checkingDevChain = $state(false);
  error = $state<string | undefined>();

  readonly selected = $derived(this.accounts.find((a) => a.address === this.selectedAddress));
  readonly isDev = $derived(this.selected?.source === 'dev');

  #extensions: InjectedExtension[] = [];
  #devPairs = new Map<string, KeyringPair>();

  /** Asks the installed extensions for access; offers the dev wallet when none exists and the chain is the dev chain. */
  async connect(): Promise<void> {
    this.status = 'connecting';
    this.error = undefined;
    this.devWalletOffered = false;
    try {
      const { web3Enable, web3Accounts } = await import('@polkadot/extension-dapp');
      this.#extensions = await web3Enable(APP_NAME);
      if (this.#extensions.length === 0) {
        this.status = 'no-extension';
        this.checkingDevChain = true;
        try {
          this.devWalletOffered = await this.#devChainReachable();
        } finally {
          this.checkingDevChain = false;
        }
        return;
      }
      const found = await web3Accounts({ ss58Format: DEV_SS58 });
      this.#setAccounts(
        found.map((a) => ({ address: a.address, name: a.meta.name ?? 'Account', source: a.meta.source })),
      );
      if (this.accounts.length === 0) {
        this.status = 'error';
        this.error = 'Your wallet has no accounts yet, or none is shared with this site. Add one and try again.';
        return;
      }
      this.status = 'connected';
      localStorage.setItem(KIND_KEY, 'extension');
    } catch (err) {
      this.status = 'error';
      this.error = explain(err);
    }
  }

  /** Reconnects the wallet chosen on an earlier visit (if any), so a reload keeps the person connected. */
  async restore(): Promise<void> {
    const kind = localStorage.getItem(KIND_KEY);
    // An extension installed since the last visit wins over the dev wallet.
    if (kind === 'extension' || (kind === 'dev' && extensionInjected())) await this.connect();
    else if (kind === 'dev') await this.useDevWallet();
  }

  /** Uses the dev wallet (dev chain only): the well-known dev accounts, signing in the page. */
  async useDevWallet(): Promise<void> {
    this.status = 'connecting';
    try {
      if (extensionInjected())
        throw new UserFacingError('WALLET', 'A wallet extension is installed: use it instead of the dev wallet.');
      if (!(await this.#devChainReachable()))
        throw new UserFacingError('WALLET', 'The dev wallet only works on the dev chain.');
      const { Keyring } = await import('@polkadot/keyring');
      const { cryptoWaitReady } = await import('@polkadot/util-crypto');
      await cryptoWaitReady();
      const keyring = new Keyring({ type: 'sr25519', ss58Format: DEV_SS58 });
      this.#devPairs.clear();
      const accounts = DEV_NAMES.map((name) => {
        const pair = keyring.addFromUri(`//${name}`, { name });
        this.#devPairs.set(pair.address, pair);
        return { address: pair.address, name: `${name} (dev)`, source: 'dev' };
      });
      this.#setAccounts(accounts);
      this.status = 'connected';
      localStorage.setItem(KIND_KEY, 'dev');
    } catch (err) {
      this.status = 'error';
      this.error = explain(err);
    }
  }

  /** Chooses the account to act as. */
  select(address: string): void {
    if (!this.accounts.some((a) => a.address === address)) return;
    this.selectedAddress = address;
    localStorage.setItem(SELECTED_KEY, address);
  }

  /** Forgets the accounts (the extension keeps its own permission). */
  disconnect(): void {
    this.accounts = [];
    this.selectedAddress = undefined;
    this.#devPairs.clear();
    this.status = 'idle';
    localStorage.removeItem(KIND_KEY);
  }

  /** Signs `message` as the selected account, wrapped in `<Bytes>…</Bytes>` as extensions do. */
  async signMessage(message: string): Promise<HexString> {
    const account = this.#requireAccount();
    const { stringToHex, stringToU8a, u8aToHex, u8aWrapBytes } = await import('@polkadot/util');
    const pair = this.#devPairs.get(account.address);
    if (pair) return u8aToHex(pair.sign(u8aWrapBytes(stringToU8a(message))));
    const ext = this.#extension(account.source);
    if (!ext.signer.signRaw) throw new UserFacingError('WALLET', 'Your wallet cannot sign messages.');
    const { signature } = await ext.signer.signRaw({
      address: account.address,
      data: stringToHex(message),
      type: 'bytes',
    });
    return signature;
  }

  /** Signs and sends `tx` as the selected account; resolves with the hash once it is in a block. */
  async signAndSend(
    tx: SubmittableExtrinsic<'promise'>,
    onStatus: (s: 'signing' | 'submitted' | 'in-block' | 'final', blockHash?: string) => void = () => {},
  ): Promise<{ txHash: string; blockHash: string }> {
    const account = this.#requireAccount();
    const pair = this.#devPairs.get(account.address);
    onStatus('signing');
    const api = await chainApi();
    return new Promise((resolve, reject) => {
      let inBlock = false;
      const handle = (result: ISubmittableResult) => {
        if (result.dispatchError) {
          reject(new UserFacingError('WALLET', dispatchErrorSentence(api, result.dispatchError)));
          return;
        }
        if ((result.status.isInBlock || result.status.isFinalized) && !inBlock) {
          // Some nodes (chopsticks) may report Finalized without an InBlock update first.
          inBlock = true;
          const blockHash = (result.status.isInBlock ? result.status.asInBlock : result.status.asFinalized).toHex();
          onStatus('in-block', blockHash);
          resolve({ txHash: tx.hash.toHex(), blockHash });
        }
        if (result.status.isFinalized) {
          onStatus('final', result.status.asFinalized.toHex());
        } else if (result.status.isDropped || result.status.isInvalid || result.status.isUsurped) {
          reject(new UserFacingError('WALLET', 'The transaction was not accepted by the chain. Please try again.'));
        }
      };
      const sent = pair
        ? tx.signAndSend(pair, { nonce: -1 }, handle)
        : tx.signAndSend(account.address, { nonce: -1, signer: this.#extension(account.source).signer }, handle);
      sent.then(
        () => onStatus('submitted'),
        (err: unknown) => reject(err instanceof UserFacingError ? err : new UserFacingError('WALLET', explain(err))),
      );
    });
  }

  async #devChainReachable(): Promise<boolean> {
    try {
      return await connectedToDevChain(await chainApi());
    } catch {
      return false;
    }
  }

  #setAccounts(accounts: WalletAccount[]): void {
    this.accounts = accounts;
    const remembered = localStorage.getItem(SELECTED_KEY);
    this.selectedAddress = accounts.find((a) => a.address === remembered)?.address ?? accounts[0]?.address;
  }

  #requireAccount(): WalletAccount {
    const account = this.selected;
    if (!account) throw new UserFacingError('WALLET', 'Connect your wallet and pick an account first.');
    return account;
  }

  #extension(source: string): InjectedExtension {
    const ext = this.#extensions.find((e) => e.name === source);
    if (!ext) throw new UserFacingError('WALLET', 'Your wallet extension is no longer available. Reconnect it.');
    return ext;
  }
}

/** Whether any Polkadot wallet extension has registered itself in this page. */
function extensionInjected(): boolean {
  const injected = (globalThis as { injectedWeb3?: Record<string, unknown> }).injectedWeb3;
  return injected !== undefined && Object.keys(injected).length > 0;
}

function dispatchErrorSentence(
  api: import('@polkadot/api').ApiPromise,
  err: import('@polkadot/types/interfaces').DispatchError,
): string {
  if (err.isModule) {
    const { section, name } = api.registry.findMetaError(err.asModule);
    if (name === 'InsufficientBalance' || name === 'BalanceLow' || name === 'FundsUnavailable')
      return 'Your account does not have enough funds for this transaction.';
    return `The chain refused the transaction (${section}.${name}).`;
  }
  return 'The chain refused the transaction.';
}

/** The wallet used by every page. */
export const wallet = new Wallet();

/** The sign-in state of the selected account. */
export const auth = new AuthSession(wallet);
