// What the viewer attacks of issue 19 share: attacker wallets made on the spot (fresh, or given native balance by a
// dev wallet), sessions of any key under any wallet and session id (delegations signed as a client can sign them),
// forged signatures, a viewer socket's event log, and the server's counters as /metrics shows them.
import { randomBytes, randomUUID } from 'node:crypto';
import type { SessionKey } from '@persecond/contracts-client';
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import { u8aToHex } from '@polkadot/util';
import type { Socket } from 'socket.io-client';
import { type LiveStream, type LiveStreamOptions, type PaidSession, startLiveStream } from '../support/liveStream.ts';
import { callOk, startRtcViewer } from '../viewers-support.ts';

/** The live-stream fixture with one stream of Alice's priced `price` (native), live and publishing camera and mic. */
export async function liveStreamOf(
  title: string,
  price: bigint,
  opts: LiveStreamOptions,
): Promise<{ live: LiveStream; streamId: string; creator: Socket }> {
  const live = await startLiveStream(opts);
  try {
    const streamId = await live.announceStream(live.wallets.alice, title, price);
    const creator = await live.open(live.wallets.alice);
    await callOk(creator, 'stream:goLive', { streamId });
    await live.publish(creator, streamId);
    return { live, streamId, creator };
  } catch (err) {
    await live.close();
    throw err;
  }
}

/**
 * Viewers settings under which no settlement is due within a test (the window is far beyond it), vouchers are due
 * within 3 ticks, and an HLS token outlives the test.
 */
export const NO_SETTLEMENT_ENV: Readonly<Record<string, string>> = {
  VOUCHER_GRACE_SECONDS: '3',
  SETTLE_EVERY_SECONDS: '600',
  PAYMENT_GRACE_SECONDS: '600',
  MIN_PREPAY_SECONDS: '30',
  HLS_TOKEN_TTL_SECONDS: '60',
};

/** Native balance an attacker wallet gets: a few sessions' budgets (10^12 each) and their fees. */
export const ATTACKER_BALANCE = 10n ** 14n;

/** A wallet nobody has seen; with `fundFrom`, given ATTACKER_BALANCE by that dev wallet first. */
export async function freshWallet(live: LiveStream, fundFrom?: KeyringPair): Promise<KeyringPair> {
  const pair = new Keyring({ type: 'sr25519', ss58Format: 42 }).addFromUri(`//attacker-${randomUUID()}`);
  if (fundFrom) {
    const res = await live.submitter.submit(
      live.client.api.tx.balances.transferKeepAlive(pair.address, ATTACKER_BALANCE),
      fundFrom,
    );
    if (!res.ok) throw new Error(`could not give ${pair.address} a balance: ${res.status}`);
  }
  return pair;
}

/**
 * A `viewer:join` session of `key` (a fresh one unless given) delegated by `wallet` under `sessionId` (a fresh one
 * unless given): what any client can build, e.g. a delegation of someone else's session key or session id. Its join
 * proof is signed with `key` for the socket it is sent on (`call`).
 */
export function sessionWith(
  live: LiveStream,
  wallet: KeyringPair,
  streamId: string,
  opts: { key?: SessionKey; sessionId?: string; budget?: bigint } = {},
): PaidSession {
  return live.newSession(wallet, streamId, opts.budget, opts);
}

/** 64 random bytes in hex: the shape of an ed25519 signature, the signature of nothing. */
export function garbageSignature(): string {
  return u8aToHex(randomBytes(64));
}

/** Every server event of `names` a socket received, in order, with the seq of the last tick received before it. */
export class EventLog {
  readonly events: { name: string; afterSeq: number; payload: unknown }[] = [];
  lastSeq = 0;

  constructor(socket: Socket, names: readonly string[]) {
    socket.on('tick', (t: { seq: number }) => {
      this.lastSeq = Math.max(this.lastSeq, t.seq);
    });
    for (const name of names) {
      socket.on(name, (payload: unknown) => this.events.push({ name, afterSeq: this.lastSeq, payload }));
    }
  }

  /** The events named `name`. */
  named(name: string): { name: string; afterSeq: number; payload: unknown }[] {
    return this.events.filter((e) => e.name === name);
  }
}

/**
 * Frames decoded by a WebRTC viewer on `socket` that was not admitted: 0 when the SFU will not give it a transport
 * (`rtc:*` refused), else what it decoded within `ms`.
 */
export async function framesWithoutAdmission(socket: Socket, streamId: string, ms = 3_000): Promise<number> {
  let rtc: Awaited<ReturnType<typeof startRtcViewer>>;
  try {
    rtc = await startRtcViewer(socket, streamId);
  } catch {
    return 0;
  }
  await new Promise((resolve) => setTimeout(resolve, ms));
  const frames = rtc.frames + rtc.audioFrames;
  rtc.close();
  return frames;
}

/** The server's sample `name` (with `labels`, e.g. `reason="idle"`) from /metrics, 0 when it has none yet. */
export async function metric(live: LiveStream, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${live.server.url}/metrics`)).text();
  const line = labels === '' ? name : `${name}{${labels}}`;
  const escaped = line.replace(/[{}]/g, (c) => `\\${c}`);
  return Number(new RegExp(`^${escaped} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
}
