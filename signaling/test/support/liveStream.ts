// A live-stream fixture on the real parts: a signaling node with every module a paid stream needs (auth, streams,
// publishing, ledger, viewers) on the dev chain, creators that announce and go live, and paying viewers whose
// sessions are funded on chain and who acknowledge every tick with a signed voucher.
import { randomUUID } from 'node:crypto';
import {
  buildFunding,
  createSessionKey,
  formatDelegation,
  type SessionKey,
  type StreamPaymentTerms,
  sessionIdOf,
  signVoucher,
  type Tx,
} from '@persecond/contracts-client';
import type { KeyringPair } from '@polkadot/keyring/types';
import { u8aToHex } from '@polkadot/util';
import type { Socket } from 'socket.io-client';
import { authModule } from '../../src/auth/AuthModule.ts';
import { loadAuthConfig } from '../../src/auth/config.ts';
import type { Tick } from '../../src/index.ts';
import type { LedgerConfig } from '../../src/ledger/config.ts';
import type { Ledger } from '../../src/ledger/Ledger.ts';
import { createLedgerModule, type LedgerModule } from '../../src/ledger/ledgerModule.ts';
import { publishingModule } from '../../src/publishing/PublishingModule.ts';
import { rtcModule } from '../../src/rtc/RtcModule.ts';
import type { SignalingModuleFactory } from '../../src/SignalingContext.ts';
import { loadStreamsConfig } from '../../src/streams/config.ts';
import { streamsModule } from '../../src/streams/StreamsModule.ts';
import { loadViewersConfig } from '../../src/viewers/config.ts';
import { type ViewersModule, viewersModule } from '../../src/viewers/ViewersModule.ts';
import {
  type AckJson,
  call,
  callOk,
  type Publisher,
  type RtcViewer,
  registerJoinKey,
  startPublisher,
  startRtcViewer,
} from '../viewers-support.ts';
import { devWallets, request, openSocket as signedInSocket, signIn, signMessage } from './clients.ts';
import { type SignalingStack, type SignalingStackOptions, startSignalingStack } from './signalingStack.ts';

/** Environment of the modules and the SFU, over the defaults (ledger in memory). */
export interface LiveStreamOptions {
  streamsEnv?: Record<string, string>;
  viewersEnv?: Record<string, string>;
  sfuEnv?: Record<string, string>;
  /** Where the node's ledger keeps its data (default: an in-memory PGlite). */
  ledger?: LedgerConfig;
  /** Modules created after the live-stream ones (e.g. chat). */
  extraModules?: SignalingModuleFactory[];
  /** Environment of the node (e.g. REDIS_URL). */
  env?: NodeJS.ProcessEnv;
  /** The node's own chain client (default: the fixture's), e.g. through a proxy a fault test cuts. */
  serverChain?: SignalingStackOptions['serverChain'];
}

/** A viewer's session: its key and the `session` field of `viewer:join` (delegation signed by the wallet). */
export interface PaidSession {
  key: SessionKey;
  sessionId: string;
  budget: bigint;
  payload: {
    sessionId: string;
    sessionKey: string;
    budget: string;
    delegation: { message: string; signature: string };
    /** The block the session's funding landed in (set by `fund`). */
    fundedIn?: string;
  };
}

/**
 * A paying viewer's socket: acknowledges every tick with a voucher as the dapp does (a notification: no ack
 * callback, the answer comes with the next tick, a refusal as `tick:refused`) and records what the server says.
 */
export class PayingViewer {
  readonly ticks: (Tick & { at: number })[] = [];
  readonly events: { name: string; at: number; payload: unknown }[] = [];
  /** Whether each tick is acknowledged as it arrives. */
  autoAck = true;
  /** The newest HLS token the server gave: with a tick, or with `payment:ok` / `media:resumed`. */
  hlsToken: string | undefined;

  constructor(
    readonly socket: Socket,
    readonly genesisHash: string,
    readonly streamId: string,
    readonly session: PaidSession,
  ) {
    socket.on('tick', (t: Tick) => {
      this.ticks.push({ ...t, at: Date.now() });
      if (typeof t.hlsToken === 'string') this.hlsToken = t.hlsToken;
      if (!this.autoAck) return;
      socket.emit('tick:ack', this.voucher(t));
      this.onVoucherSent(t);
    });
    const names = [
      'media:paused',
      'media:resumed',
      'stream:ended',
      'rtc:newProducers',
      'payment:required',
      'payment:ok',
      'tick:refused',
    ];
    for (const name of names) {
      socket.on(name, (payload: unknown) => {
        this.events.push({ name, at: Date.now(), payload });
        const token = (payload as { hlsToken?: unknown } | undefined)?.hlsToken;
        if (typeof token === 'string') this.hlsToken = token;
      });
    }
  }

  get sessionId(): string {
    return this.session.sessionId;
  }

  /** The newest tick received. */
  get lastTick(): Tick | undefined {
    return this.ticks.at(-1);
  }

  /** The voucher of `t` signed with `key` (the session key unless told otherwise), as `tick:ack` takes it. */
  voucher(t: Pick<Tick, 'seq' | 'owed'>, key: SessionKey = this.session.key) {
    const voucher = { genesisHash: this.genesisHash, streamId: this.streamId, sessionId: this.sessionId };
    const signature = signVoucher(key, { ...voucher, seq: t.seq, owed: BigInt(t.owed) });
    return { seq: t.seq, owed: t.owed, signature };
  }

  /** Sends the voucher of `t` as a request (with an ack callback) and resolves with the server's answer. */
  ack(t: Pick<Tick, 'seq' | 'owed'>, key: SessionKey = this.session.key): Promise<AckJson> {
    return call(this.socket, 'tick:ack', this.voucher(t, key));
  }

  /** Called after the voucher of `t` went out as the tick arrived (e.g. to settle as the dapp does). */
  onVoucherSent(_t: Tick): void {}

  /** Payloads of the server events named `name`, in order. */
  payloads(name: string): unknown[] {
    return this.events.filter((e) => e.name === name).map((e) => e.payload);
  }

  /** How many server events named `name` arrived. */
  saw(name: string): number {
    return this.payloads(name).length;
  }
}

/** The running fixture; `close()` stops the peers, the sockets and the stack. */
export interface LiveStream extends SignalingStack {
  readonly wallets: Awaited<ReturnType<typeof devWallets>>;
  /** The sockets open() opened, in order (closed by `close()`). */
  readonly sockets: readonly Socket[];
  /** Opens a signed-in socket of `pair`. */
  open(pair: KeyringPair): Promise<Socket>;
  /** The JSON answer of a GET of `path` on the server. */
  get(path: string, token?: string): Promise<AckJson>;
  /** The stream's status in the public API (undefined while it is not public). */
  statusOf(streamId: string): Promise<string | undefined>;
  /** Stream ids of the public directory. */
  listed(): Promise<string[]>;
  /**
   * Creates a stream of `creator` priced `pricePerSecond` (native), with the creator's payment `terms` if given,
   * announces it on chain and waits until public.
   */
  announceStream(
    creator: KeyringPair,
    title: string,
    pricePerSecond: bigint,
    terms?: Partial<StreamPaymentTerms>,
  ): Promise<string>;
  /** Publishes the synthetic camera and microphone (or `kinds`) over the creator's socket. */
  publish(creator: Socket, streamId: string, kinds?: ('audio' | 'video')[]): Promise<Publisher>;
  /**
   * A new session of `wallet` for `streamId`, its delegation signed, not funded yet; its session id is its key's
   * (`sessionIdOf`) unless `opts` names another, or names its key (e.g. someone else's, as an attacker would).
   */
  newSession(
    wallet: KeyringPair,
    streamId: string,
    budget?: bigint,
    opts?: { key?: SessionKey; sessionId?: string },
  ): PaidSession;
  /** Funds `session` from `wallet` on chain with `amount` (default its budget). */
  fund(wallet: KeyringPair, session: PaidSession, amount?: bigint): Promise<void>;
  /** A funded session of `wallet` joined over WebRTC on a new socket, consuming and following new producers. */
  joinRtcViewer(wallet: KeyringPair, streamId: string): Promise<{ viewer: PayingViewer; rtc: RtcViewer }>;
  viewers(): ViewersModule;
  ledger(): Ledger;
}

/**
 * The modules a paid live stream needs (auth, streams, publishing, ledger, viewers, rtc), in creation order: streams
 * take their default terms, rules and exposure from the viewers' own config; sign-in sessions share a random secret.
 */
export function liveStreamModules(opts: {
  streamsEnv: Record<string, string>;
  viewersEnv: Record<string, string>;
  /** Where the ledger keeps its data (`memory://` for an in-memory PGlite). */
  ledgerDataDir: string;
  /** Another storage for the ledger (PostgreSQL), over `ledgerDataDir`. */
  ledger?: LedgerConfig;
}): SignalingModuleFactory[] {
  const viewersConfig = loadViewersConfig(opts.viewersEnv);
  return [
    authModule(loadAuthConfig({ SESSION_SECRET: randomUUID() + randomUUID() })),
    streamsModule(loadStreamsConfig(opts.streamsEnv), { viewersConfig }),
    publishingModule(),
    createLedgerModule({ config: opts.ledger ?? { dataDir: opts.ledgerDataDir } }),
    viewersModule(viewersConfig),
    rtcModule(),
  ];
}

/** Starts the stack with the live-stream modules. */
export async function startLiveStream(opts: LiveStreamOptions = {}): Promise<LiveStream> {
  const wallets = await devWallets();
  const stack = await startSignalingStack({
    sfuEnv: opts.sfuEnv,
    env: opts.env,
    ...(opts.serverChain ? { serverChain: opts.serverChain } : {}),
    server: {
      modules: [
        ...liveStreamModules({
          streamsEnv: opts.streamsEnv ?? {},
          viewersEnv: opts.viewersEnv ?? {},
          ledgerDataDir: 'memory://',
          ...(opts.ledger ? { ledger: opts.ledger } : {}),
        }),
        ...(opts.extraModules ?? []),
      ],
    },
  });
  const { client, submitter, server } = stack;
  const sockets: Socket[] = [];
  const peers: { close(): void }[] = [];

  const submitOk = async (tx: Tx, signer: KeyringPair, what: string): Promise<string> => {
    const res = await submitter.submit(tx, signer);
    if (!res.ok) throw new Error(`${what} failed: ${res.status} ${res.error.section}.${res.error.name}`);
    return res.blockHash;
  };
  const open = async (pair: KeyringPair): Promise<Socket> => {
    const socket = await signedInSocket(server.url, await signIn(server.url, pair));
    sockets.push(socket);
    return socket;
  };
  const get = async (path: string, token?: string) =>
    (await request(`${server.url}${path}`, token ? { token } : {})).body as AckJson;
  const statusOf = async (streamId: string) =>
    ((await get(`/v1/streams/${streamId}`)).stream as { status: string } | undefined)?.status;

  const announceStream = async (
    creator: KeyringPair,
    title: string,
    pricePerSecond: bigint,
    terms: Partial<StreamPaymentTerms> = {},
  ): Promise<string> => {
    const { body } = await request(`${server.url}/v1/streams`, {
      token: await signIn(server.url, creator),
      body: { title, pricePerSecond: pricePerSecond.toString(), asset: 'native', ...terms },
    });
    if (!body.ok) throw new Error(`stream creation refused: ${body.code}`);
    const created = body as { streamId: string; announcement: { callData: string } } & AckJson;
    await submitOk(
      client.api.tx(client.api.createType('Call', created.announcement.callData)),
      creator,
      'announcement',
    );
    const deadline = Date.now() + 60_000;
    while ((await statusOf(created.streamId)) !== 'announced') {
      if (Date.now() > deadline) throw new Error(`stream ${created.streamId} not announced after 60 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return created.streamId;
  };

  const newSession = (
    wallet: KeyringPair,
    streamId: string,
    budget = 10n ** 12n,
    opts: { key?: SessionKey; sessionId?: string } = {},
  ): PaidSession => {
    const key = opts.key ?? createSessionKey(42);
    const sessionId = opts.sessionId ?? sessionIdOf(key.address);
    const message = formatDelegation({
      genesisHash: client.facts.genesisHash,
      streamId,
      sessionId,
      sessionAccount: key.address,
      asset: 'native',
      budget,
    });
    const payload = {
      sessionId,
      sessionKey: u8aToHex(key.publicKey),
      budget: budget.toString(),
      delegation: { message, signature: signMessage(wallet, message) },
    };
    registerJoinKey(payload, key, client.facts.genesisHash);
    return { key, sessionId, budget, payload };
  };
  const fund = async (wallet: KeyringPair, session: PaidSession, amount = session.budget): Promise<void> => {
    const blockHash = await submitOk(
      buildFunding(client, {
        sessionId: session.sessionId,
        sessionAccount: session.key.address,
        asset: 'native',
        budget: amount,
      }),
      wallet,
      'funding',
    );
    // The join names the block, so it does not wait for the node's follower to see the funding.
    session.payload.fundedIn = blockHash;
  };

  let closed: Promise<void> | undefined;
  return {
    ...stack,
    wallets,
    sockets,
    open,
    get,
    statusOf,
    listed: async () => ((await get('/v1/streams')).streams as { streamId: string }[]).map((s) => s.streamId),
    announceStream,
    publish: async (creator, streamId, kinds) => {
      const publisher = await startPublisher(creator, streamId, kinds);
      peers.push(publisher);
      return publisher;
    },
    newSession,
    fund,
    joinRtcViewer: async (wallet, streamId) => {
      const session = newSession(wallet, streamId);
      await fund(wallet, session);
      const socket = await open(wallet);
      const viewer = new PayingViewer(socket, client.facts.genesisHash, streamId, session);
      await callOk(socket, 'viewer:join', { streamId, mode: 'webrtc', session: session.payload });
      const rtc = await startRtcViewer(socket, streamId, { follow: true });
      peers.push(rtc);
      return { viewer, rtc };
    },
    viewers: () => server.modules.get('viewers') as ViewersModule,
    ledger: () => (server.modules.get('ledger') as LedgerModule).ledger,
    close() {
      closed ??= (async () => {
        for (const peer of peers.reverse()) peer.close();
        for (const socket of sockets) socket.close();
        await stack.close();
      })();
      return closed;
    },
  };
}
