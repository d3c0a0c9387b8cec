// The real stack of the payment model test (issue 19): one signaling node whose ledger lives on disk, so that it can
// be closed and a new node started on the same database (a restart), next to the live-stream fixture's chain, SFU and
// session helpers; creators' streams with payment terms; viewer clients that acknowledge ticks rightly, wrongly or
// not at all; and an audit of what the chain says happened to a set of sessions' money.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createSessionKey,
  decodeBlockData,
  readBlock,
  readEvents,
  type SessionKey,
  type StreamPaymentTerms,
} from '@persecond/contracts-client';
import type { KeyringPair } from '@polkadot/keyring/types';
import { decodeAddress, encodeAddress } from '@polkadot/util-crypto';
import type { Socket } from 'socket.io-client';
import type { SignalingServer, Tick } from '../../../src/index.ts';
import type { Ledger } from '../../../src/ledger/Ledger.ts';
import type { LedgerModule } from '../../../src/ledger/ledgerModule.ts';
import type { ViewersModule } from '../../../src/viewers/ViewersModule.ts';
import { callOk, type Publisher, startPublisher } from '../../viewers-support.ts';
import { openSocket, request, signIn } from '../clients.ts';
import { type LiveStream, liveStreamModules, PayingViewer, startLiveStream } from '../liveStream.ts';

/** SS58 format of protocol addresses (session accounts, dev wallets). */
const SS58 = 42;

/** How a model viewer answers each tick. */
export type AckMode = 'right' | 'wrong' | 'none';

/**
 * A viewer client whose answer to each tick is chosen by the test: the right voucher, one signed by a key that is not
 * the session's (64 bytes, so it passes the cheap checks and fails verification), or none.
 */
export class ModelViewer extends PayingViewer {
  ackMode: AckMode = 'right';
  /** Highest tick it sent a correctly signed voucher for (0: none). */
  signedSeq = 0;
  signedOwed = 0n;
  /** The key of the wrong vouchers. */
  readonly #impostor: SessionKey = createSessionKey(SS58);

  constructor(...args: ConstructorParameters<typeof PayingViewer>) {
    super(...args);
    this.autoAck = false;
    this.socket.on('tick', (t: Tick) => this.answer(t));
  }

  /** Answers `t` (the newest tick, or one resent after a change of mode) as `ackMode` says. */
  answer(t: Pick<Tick, 'seq' | 'owed'>): void {
    if (this.ackMode === 'none') return;
    if (this.ackMode === 'wrong') {
      this.socket.emit('tick:ack', this.voucher(t, this.#impostor));
      return;
    }
    this.socket.emit('tick:ack', this.voucher(t));
    if (t.seq > this.signedSeq) {
      this.signedSeq = t.seq;
      this.signedOwed = BigInt(t.owed);
    }
  }
}

/** A creator's live stream on the current node. */
export interface ModelStream {
  streamId: string;
  creatorSocket: Socket;
  publisher: Publisher;
}

/** One session's money as the chain shows it (planck). */
export interface ChainMoney {
  /** `ps1:fund:<sessionId>` transfers from its wallet to its session account. */
  funded: bigint;
  /** `ps1:pay` transfers from its session account to the creator. */
  settled: bigint;
  /** Sweeps from its session account back to its wallet. */
  refunded: bigint;
  /** Transaction fees its session account paid. */
  fees: bigint;
}

/** What the audit needs to know of a session. */
export interface AuditedSession {
  sessionId: string;
  sessionAccount: string;
  wallet: string;
}

const same = (a: string, b: string): boolean =>
  encodeAddress(decodeAddress(a), SS58) === encodeAddress(decodeAddress(b), SS58);

/** The stack: the fixture (chain, SFU, pinner, session helpers) and the restartable node the test talks to. */
export class PaymentModelStack {
  /** The node the viewers talk to (replaced by `restart()`). */
  node: SignalingServer;
  /** Restarts so far. */
  restarts = 0;
  readonly #tokens = new Map<string, string>();
  readonly #sockets = new Set<Socket>();

  private constructor(
    readonly live: LiveStream,
    readonly dataDir: string,
    readonly viewersEnv: Record<string, string>,
    node: SignalingServer,
  ) {
    this.node = node;
  }

  /** Starts the fixture and a node with `viewersEnv` whose ledger is a PGlite database in a scratch directory. */
  static async start(opts: { viewersEnv: Record<string, string>; sfuEnv?: Record<string, string> }) {
    const live = await startLiveStream({ ...(opts.sfuEnv ? { sfuEnv: opts.sfuEnv } : {}) });
    const dataDir = mkdtempSync(join(tmpdir(), 'persecond-payment-model-'));
    try {
      const node = await PaymentModelStack.#startNode(live, dataDir, opts.viewersEnv);
      return new PaymentModelStack(live, dataDir, opts.viewersEnv, node);
    } catch (err) {
      await live.close();
      rmSync(dataDir, { recursive: true, force: true });
      throw err;
    }
  }

  /** A node with the live-stream fixture's modules, its ledger in `dataDir`. */
  static #startNode(live: LiveStream, dataDir: string, viewersEnv: Record<string, string>): Promise<SignalingServer> {
    return live.startServer({
      modules: liveStreamModules({
        streamsEnv: { STREAM_CREATE_RATE_LIMIT_MAX: '1000' },
        viewersEnv,
        ledgerDataDir: dataDir,
      }),
    });
  }

  /** The current node's viewers module. */
  viewers(): ViewersModule {
    return this.node.modules.get('viewers') as ViewersModule;
  }

  /** The current node's ledger. */
  ledger(): Ledger {
    return (this.node.modules.get('ledger') as LedgerModule).ledger;
  }

  /** Opens a socket of `pair` signed in on the current node. */
  async open(pair: KeyringPair): Promise<Socket> {
    const key = `${this.node.url} ${pair.address}`;
    let token = this.#tokens.get(key);
    if (!token) {
      token = await signIn(this.node.url, pair);
      this.#tokens.set(key, token);
    }
    const socket = await openSocket(this.node.url, token);
    this.#sockets.add(socket);
    socket.once('disconnect', () => this.#sockets.delete(socket));
    return socket;
  }

  /** A model viewer on `socket` for `session` of `streamId`. */
  viewer(socket: Socket, streamId: string, session: ConstructorParameters<typeof PayingViewer>[3]): ModelViewer {
    return new ModelViewer(socket, this.live.client.facts.genesisHash, streamId, session);
  }

  /** Creates a stream of `creator` with `terms` on the current node, announces it on chain, takes it live, publishes. */
  async startStream(creator: KeyringPair, pricePerSecond: bigint, terms: StreamPaymentTerms): Promise<ModelStream> {
    const { body } = await request(`${this.node.url}/v1/streams`, {
      token: await signIn(this.node.url, creator),
      body: { title: 'payment model', pricePerSecond: pricePerSecond.toString(), asset: 'native', ...terms },
    });
    if (!body.ok) throw new Error(`stream creation refused: ${body.code}`);
    const { streamId, announcement } = body as unknown as { streamId: string; announcement: { callData: string } };
    const { api } = this.live.client;
    const res = await this.live.submitter.submit(api.tx(api.createType('Call', announcement.callData)), creator);
    if (!res.ok) throw new Error(`announcement failed: ${res.status}`);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { body: read } = await request(`${this.node.url}/v1/streams/${streamId}`);
      if ((read.stream as { status?: string } | undefined)?.status === 'announced') break;
      if (Date.now() > deadline) throw new Error(`stream ${streamId} not announced after 30 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const creatorSocket = await this.open(creator);
    await callOk(creatorSocket, 'stream:goLive', { streamId });
    const publisher = await startPublisher(creatorSocket, streamId);
    return { streamId, creatorSocket, publisher };
  }

  /** Closes the current node (its clients are disconnected) and starts a new one on the same ledger database. */
  async restart(): Promise<void> {
    await this.node.close();
    this.node = await PaymentModelStack.#startNode(this.live, this.dataDir, this.viewersEnv);
    this.restarts++;
  }

  /** Number of the chain's best block. */
  async head(): Promise<number> {
    return (await this.live.client.api.rpc.chain.getHeader()).number.toNumber();
  }

  /**
   * What the chain's blocks after `fromBlock` did to the money of `sessions` with `creator` (decoded with
   * contracts-client's decoder, as the ledger's watcher and the indexer read them), and what each session account
   * still holds.
   */
  async chainMoney(
    fromBlock: number,
    creator: string,
    sessions: readonly AuditedSession[],
  ): Promise<Map<string, ChainMoney & { held: bigint }>> {
    const { api } = this.live.client;
    const money = new Map<string, ChainMoney & { held: bigint }>();
    for (const s of sessions) money.set(s.sessionId, { funded: 0n, settled: 0n, refunded: 0n, fees: 0n, held: 0n });
    const byAccount = new Map(sessions.map((s) => [encodeAddress(decodeAddress(s.sessionAccount), SS58), s]));
    const head = await this.head();
    for (let n = fromBlock + 1; n <= head; n++) {
      const hash = (await api.rpc.chain.getBlockHash(n)).toHex();
      const [block, records] = await Promise.all([readBlock(api, hash), readEvents(api, hash)]);
      for (const e of decodeBlockData(block, records, SS58).events) {
        if (e.type === 'announcement' || e.type === 'tip') continue;
        const s = sessions.find((x) => x.sessionId === e.sessionId);
        const m = s && money.get(s.sessionId);
        if (!s || !m || e.asset !== 'native') continue;
        if (e.type === 'funding' && same(e.wallet, s.wallet) && same(e.sessionAccount, s.sessionAccount)) {
          m.funded += e.amount;
        } else if (e.type === 'settlement' && same(e.payer, s.sessionAccount) && same(e.creator, creator)) {
          m.settled += e.amount;
        } else if (e.type === 'refund' && same(e.sessionAccount, s.sessionAccount) && same(e.wallet, s.wallet)) {
          m.refunded += e.amount;
        }
      }
      // This runtime has no TransactionFeePaid event: a fee is the signer's balances.Withdraw, less the Deposit of
      // what was not spent (none when the account was swept away in the same call).
      for (const { event } of records) {
        if (event.section !== 'balances' || (event.method !== 'Withdraw' && event.method !== 'Deposit')) continue;
        const s = byAccount.get(encodeAddress(decodeAddress(event.data[0]?.toString() ?? ''), SS58));
        const m = s && money.get(s.sessionId);
        const amount = BigInt(event.data[1]?.toString() ?? 0);
        if (m) m.fees += event.method === 'Withdraw' ? amount : -amount;
      }
    }
    for (const s of sessions) {
      const { data } = await api.query.system.account(s.sessionAccount);
      const m = money.get(s.sessionId);
      if (m) m.held = BigInt((data as unknown as { free: { toString(): string } }).free.toString());
    }
    return money;
  }

  /** Closes the viewers' sockets, the node and the fixture, and removes the ledger's directory. */
  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.close();
    await this.live.close();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
