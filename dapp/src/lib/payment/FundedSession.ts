// One funded session key and what works for it: its stored record (kept current for a later visit), the voucher loop
// that acknowledges its ticks and the settler that pays from its account.
import type { StreamSummary, Tick } from '@persecond/signaling/protocol';
import type { KeyringPair } from '@polkadot/keyring/types';
import { DEV_SS58 } from '../chain/devChain.ts';
import { request, type SignalingSocket } from '../signaling/socket.ts';
import { Settler } from './Settler.svelte.ts';
import { type SessionKey, sessionKeyPair } from './sessionKey.ts';
import { type StoredSession, saveSession } from './sessionStore.ts';
import { VoucherLoop } from './VoucherLoop.ts';

/** What a funded session asks of, and tells, the watch session it belongs to. */
export interface FundedSessionHost {
  genesisHash: string;
  stream: StreamSummary;
  /** The signaling socket, when there is one. */
  socket(): SignalingSocket | undefined;
  /** What the account holds for watching (budget and top-ups). */
  budget(): bigint;
  /** Test hook: true while no settlement may be sent. */
  stopped(): boolean;
  /** A voucher went out for `tick`. */
  acknowledged(tick: Tick): void;
  /** A settlement landed in a block. */
  landed(): void;
  /** A settlement did not go through. */
  failed(err: unknown): void;
}

/** A funded session key with its record, voucher loop and settler. */
export class FundedSession {
  readonly pair: KeyringPair;
  readonly vouchers: VoucherLoop;
  readonly settler: Settler;
  #stored: StoredSession;

  constructor(
    readonly key: SessionKey,
    stored: StoredSession,
    host: FundedSessionHost,
  ) {
    this.#stored = stored;
    this.pair = sessionKeyPair(key, DEV_SS58);
    const { streamId, creator, asset } = host.stream;
    const { sessionId } = stored;
    this.vouchers = new VoucherLoop({ key, genesisHash: host.genesisHash, streamId, sessionId }, this.price(host), {
      // Kept before it is sent: after a crash, the next visit knows what the server may count (at most this).
      signing: (tick) => this.remember({ acknowledged: tick.owed }),
      send: (voucher) => {
        // A notification: the answer comes with the next tick, a refusal as `tick:refused`. One not sent while
        // disconnected is covered by the next (a buffered one would reach the new socket before the rejoin).
        const socket = host.socket();
        if (!socket?.connected) return false;
        socket.emit('tick:ack', voucher);
        return true;
      },
      acknowledged: (tick) => host.acknowledged(tick),
    });
    this.settler = new Settler({ asset, creator, streamId, sessionId, pair: this.pair }, this.price(host), {
      budget: host.budget,
      stopped: host.stopped,
      landed: (settled, tx) => {
        this.remember({ settled: settled.toString() });
        const socket = host.socket();
        if (socket?.connected) request(socket, 'settlement:submitted', { txHash: tx.txHash }).catch(() => undefined);
        host.landed();
      },
      failed: host.failed,
      // Kept so that an old debt of a replay session is paid with the remark its ledger credits.
      following: (kind) => {
        if (kind !== (this.#stored.kind ?? 'live')) this.remember({ kind });
      },
    });
  }

  get sessionId(): string {
    return this.#stored.sessionId;
  }

  /** The stored record as last remembered. */
  get stored(): StoredSession {
    return this.#stored;
  }

  /** Updates the stored record (best effort: it only helps a later visit pay an old debt exactly, or carry on). */
  remember(update: Partial<Omit<StoredSession, 'sessionId'>>): void {
    this.#stored = { ...this.#stored, ...update };
    saveSession(this.#stored).catch(() => undefined);
  }

  private price(host: FundedSessionHost): bigint {
    return BigInt(host.stream.pricePerSecond);
  }
}
