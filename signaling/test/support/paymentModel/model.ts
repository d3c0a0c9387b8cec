// The payment model test's model (issue 19): what the model knows of each run, actor and session, the helpers the
// commands share to read it and to update it from the clients, and the checks every step keeps. Each command's
// `check` reads the model only; its `run` drives real clients and compares the server's answers with what the model
// predicts.
import { creatorExposureSeconds, type StreamPaymentTerms } from '@persecond/contracts-client';
import type { KeyringPair } from '@polkadot/keyring/types';
import type fc from 'fast-check';
import { expect } from 'vitest';
import type { AckJson, RtcViewer } from '../../viewers-support.ts';
import type { PaidSession } from '../liveStream.ts';
import type { AckMode, ModelStream, ModelViewer, PaymentModelStack } from './stack.ts';

/** Where a session stands, as the model sees it. */
export type SessionState =
  /** Funded, refused at its first join: no ledger session. */
  | 'refused'
  | 'attached'
  | 'detached'
  | 'left'
  /** Its node was restarted: its stream is gone, its ledger session stays. */
  | 'orphaned';

/** One funded session and what the model knows of its money. */
export interface SessionModel {
  readonly session: PaidSession;
  readonly actor: ActorModel;
  readonly streamId: string;
  state: SessionState;
  /** Whether the ledger holds it (it was admitted once). */
  opened: boolean;
  /** Whether it was ever placed on HLS (its HLS credit is charged when it ends). */
  everHls: boolean;
  mode: 'webrtc' | 'hls';
  /** Credited by the ledger from the chain, as the model paid it. */
  settled: bigint;
  /** What the ledger had metered when the session was last let go (left, detached, orphaned). */
  owedFinal: bigint;
  swept: boolean;
  /** Newest tick its clients received. */
  maxSeq: number;
  maxOwed: bigint;
  /** Newest tick its clients signed a right voucher for. */
  signedSeq: number;
  signedOwed: bigint;
  /** Media seconds of the HLS segments the edge served it. */
  hlsServed: number;
  /** HLS seconds delivered and not metered yet when its node was closed (not charged: see the report). */
  hlsLost: number;
}

/** A viewer wallet and its client. */
export interface ActorModel {
  readonly index: number;
  readonly name: string;
  readonly wallet: KeyringPair;
  ackMode: AckMode;
  current: SessionModel | undefined;
  client: ModelViewer | undefined;
  rtc: RtcViewer | undefined;
  playlistUrl: string | undefined;
}

/** One run: a fresh stream, its viewers and sessions. */
export interface RunModel {
  readonly creator: KeyringPair;
  readonly price: bigint;
  readonly terms: StreamPaymentTerms;
  readonly voucherGrace: number;
  readonly paymentGrace: number;
  /** Media seconds the HLS edge counts per segment. */
  readonly hlsSegmentSeconds: number;
  readonly budget: bigint;
  stream: ModelStream;
  readonly actors: ActorModel[];
  readonly sessions: SessionModel[];
  /** Debt each wallet had in the ledger before the run (0 unless an earlier run could not clean up). */
  readonly baselineDebt: Map<string, bigint>;
  restarted: boolean;
  /** The commands run so far (those whose check passed). */
  readonly executed: string[];
}

/** A command of the model, run against the real stack. */
export type Cmd = fc.AsyncCommand<RunModel, PaymentModelStack>;

/**
 * The creator's worst case per session (DESIGN §4a.3): the seconds a viewer who never pays is served (the payment
 * window, 0 with pay-ahead) at the stream's price.
 */
export function creatorExposure(m: Readonly<RunModel>): bigint {
  const paymentGraceSeconds = m.terms.payAhead ? 0 : m.paymentGrace;
  return BigInt(creatorExposureSeconds({ ...m.terms, paymentGraceSeconds })) * m.price;
}

/** Takes what the actors' clients saw into the model. */
export function syncModel(m: RunModel): void {
  for (const a of m.actors) {
    const s = a.current;
    const c = a.client;
    if (!s || !c) continue;
    const last = c.lastTick;
    if (last && last.seq > s.maxSeq) {
      s.maxSeq = last.seq;
      s.maxOwed = BigInt(last.owed);
    }
    if (c.signedSeq > s.signedSeq) {
      s.signedSeq = c.signedSeq;
      s.signedOwed = c.signedOwed;
    }
  }
}

/**
 * The wallet's debt the node must find at a join (DESIGN §4a.2): metered and not settled, over its sessions not
 * watching right now and other than `except`.
 */
export function predictedDebt(m: RunModel, wallet: string, except?: SessionModel): bigint {
  let debt = m.baselineDebt.get(wallet) ?? 0n;
  for (const s of m.sessions) {
    if (s === except || s.state === 'attached' || s.actor.wallet.address !== wallet) continue;
    if (s.owedFinal > s.settled) debt += s.owedFinal - s.settled;
  }
  return debt;
}

/** Drops an actor's client: its WebRTC peer and its socket. */
export function dropClient(a: ActorModel): void {
  a.rtc?.close();
  a.client?.socket.close();
  a.rtc = undefined;
  a.client = undefined;
}

/** The actor and its session, when the session is attached to its client. */
export const attachedOf = (
  m: Readonly<RunModel>,
  actor: number,
): { a: ActorModel; s: SessionModel; c: ModelViewer } | undefined => {
  const a = m.actors[actor];
  const s = a?.current;
  return a && s?.state === 'attached' && a.client ? { a, s, c: a.client } : undefined;
};

/** The answer refuses the request with `code`. */
export const expectRefused = (res: AckJson, code: string): void => {
  expect(res, `expected ${code}`).toMatchObject({ ok: false, code });
};

/**
 * A command followed by the checks every step keeps: what the node serves unpaid stays within the creator's exposure,
 * and a session whose clients never sent a right voucher was sent at most `voucherGrace` + 1 ticks (no media beyond
 * the bound without a valid voucher).
 */
export class StepChecked implements Cmd {
  constructor(readonly inner: Cmd) {}
  check(m: Readonly<RunModel>): boolean {
    return this.inner.check(m);
  }
  async run(m: RunModel, r: PaymentModelStack): Promise<void> {
    m.executed.push(this.inner.toString());
    await this.inner.run(m, r);
    syncModel(m);
    for (const s of m.sessions) {
      // What the node serves unpaid stays within the creator's exposure.
      const served = r.viewers().viewer(s.session.sessionId);
      if (served) {
        expect(served.owed - served.settled, `unpaid of ${s.session.sessionId}`).toBeLessThanOrEqual(
          creatorExposure(m),
        );
      }
      if (s.signedSeq > 0) continue;
      expect(s.maxSeq, `ticks of ${s.session.sessionId} without a right voucher`).toBeLessThanOrEqual(
        m.voucherGrace + 1,
      );
    }
  }
  toString(): string {
    return this.inner.toString();
  }
}
