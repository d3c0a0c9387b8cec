import type { ApiPromise } from '@polkadot/api';
import type { Signer } from '@polkadot/api/types';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { DispatchError, EventRecord } from '@polkadot/types/interfaces';
import type { ISubmittableResult } from '@polkadot/types/types';
import { trackChild, untrackChild } from '../chain/connect.ts';
import { ContractsClientError } from '../errors.ts';
import type { Tx } from './builders.ts';

/** Who signs: a keyring pair (server, tests, session keys) or an address with an injected extension signer. */
export type TxSigner = KeyringPair | { address: string; signer: Signer };

/** A dispatch error decoded from the runtime metadata. */
export interface DispatchFailure {
  section: string;
  name: string;
  docs: string;
}

/** The outcome of a submission; chain-level failures are data, not exceptions. */
export type SubmitResult =
  | {
      ok: true;
      status: 'inBlock' | 'finalized';
      txHash: string;
      blockHash: string;
      extrinsicIndex: number;
      nonce: number;
      events: { section: string; method: string }[];
    }
  | {
      ok: false;
      /** `dispatchError`: included but failed (fees paid, state rolled back); `invalid`: refused by the pool. */
      status: 'dispatchError' | 'invalid';
      txHash: string;
      blockHash?: string;
      extrinsicIndex?: number;
      nonce: number;
      error: DispatchFailure;
      events: { section: string; method: string }[];
    };

/** Submission options. */
export interface SubmitOptions {
  /** Resolve at `inBlock` (default) or wait for `finalized`. */
  until?: 'inBlock' | 'finalized';
  /** Give up waiting after this many milliseconds (default 120000): rejects CHAIN_UNAVAILABLE. */
  timeoutMs?: number;
}

/** Decodes a DispatchError into `{section,name,docs}` using the runtime metadata. */
export function decodeDispatchError(api: ApiPromise, err: DispatchError): DispatchFailure {
  if (err.isModule) {
    const meta = api.registry.findMetaError(err.asModule);
    return { section: meta.section, name: meta.name, docs: meta.docs.join(' ') };
  }
  if (err.isToken) return { section: 'token', name: err.asToken.type, docs: '' };
  if (err.isArithmetic) return { section: 'arithmetic', name: err.asArithmetic.type, docs: '' };
  return { section: 'dispatch', name: err.type, docs: '' };
}

/**
 * Signs and submits with nonces that never go stale: one queue per address, each nonce is
 * max(chain's next index, last used + 1), and the local counter resets when the pool refuses a transaction.
 */
export class TxSubmitter {
  private readonly next = new Map<string, number>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly inFlight = new Set<(err: Error) => void>();
  private closed = false;

  constructor(private readonly api: ApiPromise) {
    trackChild(api, this);
  }

  /** Signs `tx` with `signer` and waits for inclusion (or finality); see SubmitResult. */
  async submit(tx: Tx, signer: TxSigner, opts: SubmitOptions = {}): Promise<SubmitResult> {
    if (this.closed) throw new ContractsClientError('CLOSED', 'submitter is closed');
    const address = signer.address;
    let release!: () => void;
    const turn = new Promise<void>((r) => {
      release = r;
    });
    const previous = this.queues.get(address) ?? Promise.resolve();
    const mine = previous.then(() => turn);
    this.queues.set(address, mine);
    await previous;
    let nonce: number;
    let watching: Promise<SubmitResult>;
    try {
      const chainNext = (await this.api.rpc.system.accountNextIndex(address)).toNumber();
      nonce = Math.max(chainNext, this.next.get(address) ?? 0);
      if (this.closed) throw new ContractsClientError('CLOSED', 'submitter closed before sending');
      watching = this.watch(tx, signer, nonce, opts);
      // Release the queue once the pool accepted (or refused) this nonce; inclusion is awaited outside the queue.
      await Promise.race([watching.then(() => undefined), this.accepted.get(tx)]);
    } finally {
      this.accepted.delete(tx);
      release();
      if (this.queues.get(address) === mine) this.queues.delete(address);
    }
    const result = await watching;
    if (result.status === 'invalid') this.next.delete(address);
    return result;
  }

  private readonly accepted = new WeakMap<Tx, Promise<void>>();

  private watch(tx: Tx, signer: TxSigner, nonce: number, opts: SubmitOptions): Promise<SubmitResult> {
    const until = opts.until ?? 'inBlock';
    const address = signer.address;
    let markAccepted!: () => void;
    this.accepted.set(
      tx,
      new Promise<void>((r) => {
        markAccepted = r;
      }),
    );
    return new Promise<SubmitResult>((resolve, reject) => {
      let unsub: (() => void) | undefined;
      let settled = false;
      const finish = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.inFlight.delete(abort);
        unsub?.();
        fn();
      };
      const abort = (err: Error): void => finish(() => reject(err));
      const timer = setTimeout(
        () => abort(new ContractsClientError('CHAIN_UNAVAILABLE', 'timed out waiting for inclusion')),
        opts.timeoutMs ?? 120_000,
      );
      this.inFlight.add(abort);
      const onStatus = (r: ISubmittableResult): void => {
        const { status } = r;
        if (status.isInvalid || status.isDropped || status.isUsurped) {
          finish(() =>
            resolve({
              ok: false,
              status: 'invalid',
              txHash: tx.hash.toHex(),
              nonce,
              error: { section: 'pool', name: status.type, docs: '' },
              events: [],
            }),
          );
          return;
        }
        const inBlock = status.isInBlock ? status.asInBlock : status.isFinalized ? status.asFinalized : undefined;
        if (!inBlock || (until === 'finalized' && !status.isFinalized)) return;
        const events = r.events.map((e: EventRecord) => ({ section: e.event.section, method: e.event.method }));
        const base = {
          txHash: tx.hash.toHex(),
          blockHash: inBlock.toHex(),
          extrinsicIndex: r.txIndex ?? -1,
          nonce,
          events,
        };
        if (r.dispatchError) {
          const error = decodeDispatchError(this.api, r.dispatchError);
          finish(() => resolve({ ok: false, status: 'dispatchError', ...base, error }));
        } else {
          finish(() => resolve({ ok: true, status: status.isFinalized ? 'finalized' : 'inBlock', ...base }));
        }
      };
      const options = { nonce, ...('signer' in signer && !('sign' in signer) ? { signer: signer.signer } : {}) };
      const account = 'sign' in signer ? signer : address;
      tx.signAndSend(account, options, onStatus)
        .then((u) => {
          this.next.set(address, nonce + 1);
          markAccepted();
          if (settled) u();
          else unsub = u;
        })
        .catch((err: Error) => {
          markAccepted();
          finish(() =>
            resolve({
              ok: false,
              status: 'invalid',
              txHash: tx.hash.toHex(),
              nonce,
              error: { section: 'pool', name: 'Invalid', docs: err.message },
              events: [],
            }),
          );
        });
    });
  }

  /** Stops waiting: every submission still waiting rejects with CLOSED (the chain may still include it); idempotent. */
  close(): void {
    this.closed = true;
    untrackChild(this.api, this);
    for (const abort of [...this.inFlight]) abort(new ContractsClientError('CLOSED', 'submitter closed while waiting'));
  }
}
