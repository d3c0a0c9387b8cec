// The model and commands of the payment model test (issue 19): viewers (one wallet each) that join, acknowledge ticks
// rightly, wrongly or not at all, settle or not, leave, rejoin on other sockets, fetch HLS in bursts, disconnect, sweep
// their session accounts, squat or borrow others' sessions, and a node restart. Each command's `check` reads the model
// only; its `run` drives real clients and compares the server's answers with what the model predicts.
import {
  buildFinalSettlement,
  buildSettlement,
  creatorExposureSeconds,
  type StreamPaymentTerms,
  sessionKeyPair,
} from '@persecond/contracts-client';
import type { KeyringPair } from '@polkadot/keyring/types';
import fc from 'fast-check';
import { expect, vi } from 'vitest';
import { sessionCapacity } from '../../src/hlsEdge/FetchPolicy.ts';
import { garbageSignature, sessionWith } from '../adversarial/viewerAttacks.ts';
import { type AckJson, call, callOk, type RtcViewer, startRtcViewer } from '../viewers-support.ts';
import type { PaidSession } from './liveStream.ts';
import { meterRounds } from './meterRounds.ts';
import type { AckMode, ModelStream, ModelViewer, PaymentModelStack } from './paymentModelStack.ts';

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

type Cmd = fc.AsyncCommand<RunModel, PaymentModelStack>;

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
const attachedOf = (
  m: Readonly<RunModel>,
  actor: number,
): { a: ActorModel; s: SessionModel; c: ModelViewer } | undefined => {
  const a = m.actors[actor];
  const s = a?.current;
  return a && s?.state === 'attached' && a.client ? { a, s, c: a.client } : undefined;
};

const expectRefused = (res: AckJson, code: string): void => {
  expect(res, `expected ${code}`).toMatchObject({ ok: false, code });
};

/** Places an admitted session's client (WebRTC: consumes the room's producers). */
async function attach(
  a: ActorModel,
  s: SessionModel,
  client: ModelViewer,
  res: AckJson,
  mode: 'webrtc' | 'hls',
): Promise<void> {
  expect(res).toMatchObject({ ok: true, mode, viewerId: s.session.sessionId });
  dropClient(a);
  a.client = client;
  s.state = 'attached';
  s.opened = true;
  s.mode = mode;
  s.everHls ||= mode === 'hls';
  a.playlistUrl = mode === 'hls' ? (res.playlistUrl as string) : undefined;
  if (mode === 'hls' && typeof res.token === 'string') client.hlsToken = res.token;
  if (mode === 'webrtc') a.rtc = await startRtcViewer(client.socket, s.streamId, { follow: true });
}

/** A new session of the actor, funded on chain, joined on a new socket. */
export class JoinNew implements Cmd {
  constructor(
    readonly actor: number,
    readonly mode: 'webrtc' | 'hls',
  ) {}
  check(m: Readonly<RunModel>): boolean {
    const a = m.actors[this.actor];
    return a !== undefined && a.current?.state !== 'attached';
  }
  async run(m: RunModel, r: PaymentModelStack): Promise<void> {
    const a = m.actors[this.actor] as ActorModel;
    const { streamId } = m.stream;
    const session = r.live.newSession(a.wallet, streamId, m.budget);
    await r.live.fund(a.wallet, session);
    const s: SessionModel = {
      session,
      actor: a,
      streamId,
      state: 'refused',
      opened: false,
      everHls: false,
      mode: this.mode,
      settled: 0n,
      owedFinal: 0n,
      swept: false,
      maxSeq: 0,
      maxOwed: 0n,
      signedSeq: 0,
      signedOwed: 0n,
      hlsServed: 0,
      hlsLost: 0,
    };
    m.sessions.push(s);
    const debt = predictedDebt(m, a.wallet.address);
    const client = r.viewer(await r.open(a.wallet), streamId, session);
    client.ackMode = a.ackMode;
    const res = await call(client.socket, 'viewer:join', { streamId, mode: this.mode, session: session.payload });
    a.current = s;
    if (debt > 0n) {
      expectRefused(res, 'DEBT_OUTSTANDING');
      expect(res.details?.debt).toBe(debt.toString());
      client.socket.close();
      return;
    }
    await attach(a, s, client, res, this.mode);
    expect(res.rules).toMatchObject({ ...m.terms, voucherGraceSeconds: m.voucherGrace });
    // Over HLS the edge's per-session burst is handed out before it is metered: part of the creator's worst case.
    const ahead = this.mode === 'hls' ? BigInt(sessionCapacity(r.live.sfu.config.hlsSegmentSeconds)) * m.price : 0n;
    expect(res.exposure).toMatchObject({ creatorMax: (creatorExposure(m) + ahead).toString() });
    expect(res.session).toMatchObject({ resumed: false, seq: 0, owed: '0', settled: '0' });
  }
  toString(): string {
    return `JoinNew(${this.actor}, ${this.mode})`;
  }
}

/** The actor's current session joined again on a new socket (taking it over from the old one if still attached). */
class Rejoin implements Cmd {
  constructor(
    readonly actor: number,
    readonly mode: 'webrtc' | 'hls',
  ) {}
  check(m: Readonly<RunModel>): boolean {
    return m.actors[this.actor]?.current !== undefined;
  }
  async run(m: RunModel, r: PaymentModelStack): Promise<void> {
    const a = m.actors[this.actor] as ActorModel;
    const s = a.current as SessionModel;
    const debt = predictedDebt(m, a.wallet.address, s);
    const client = r.viewer(await r.open(a.wallet), s.streamId, s.session);
    client.ackMode = a.ackMode;
    const payload = { streamId: s.streamId, mode: this.mode, session: s.session.payload };
    const res = await call(client.socket, 'viewer:join', payload);
    if (s.state === 'orphaned') {
      expectRefused(res, 'STREAM_NOT_FOUND');
    } else if (debt > 0n) {
      expectRefused(res, 'DEBT_OUTSTANDING');
      expect(res.details?.debt).toBe(debt.toString());
    } else if (s.swept) {
      expectRefused(res, 'BALANCE_INSUFFICIENT');
    } else {
      const resumed = s.opened;
      await attach(a, s, client, res, this.mode);
      const standing = res.session as { resumed: boolean; seq: number; owed: string; settled: string };
      expect(standing.resumed).toBe(resumed);
      expect(standing.seq).toBeGreaterThanOrEqual(s.maxSeq);
      expect(BigInt(standing.owed)).toBeGreaterThanOrEqual(s.maxOwed);
      expect(standing.settled).toBe(s.settled.toString());
      return;
    }
    client.socket.close();
  }
  toString(): string {
    return `Rejoin(${this.actor}, ${this.mode})`;
  }
}

/** `viewer:leave`: the totals are the ledger's, the settled part what the model paid. */
class Leave implements Cmd {
  constructor(readonly actor: number) {}
  check(m: Readonly<RunModel>): boolean {
    return attachedOf(m, this.actor) !== undefined;
  }
  async run(m: RunModel, r: PaymentModelStack): Promise<void> {
    const { a, s, c } = attachedOf(m, this.actor) as NonNullable<ReturnType<typeof attachedOf>>;
    const totals = await callOk(c.socket, 'viewer:leave', {});
    syncModel(m);
    expect(BigInt(totals.owed as string)).toBeGreaterThanOrEqual(s.maxOwed);
    expect(totals.settled).toBe(s.settled.toString());
    const row = await r.ledger().session(s.session.sessionId);
    expect(row).toMatchObject({ status: 'closed', owed: BigInt(totals.owed as string) });
    s.owedFinal = BigInt(totals.owed as string);
    s.state = 'left';
    dropClient(a);
  }
  toString(): string {
    return `Leave(${this.actor})`;
  }
}

/** The socket drops; the node keeps the session for a reconnect. */
class Disconnect implements Cmd {
  constructor(readonly actor: number) {}
  check(m: Readonly<RunModel>): boolean {
    return attachedOf(m, this.actor) !== undefined;
  }
  async run(m: RunModel, r: PaymentModelStack): Promise<void> {
    const { a, s } = attachedOf(m, this.actor) as NonNullable<ReturnType<typeof attachedOf>>;
    syncModel(m);
    dropClient(a);
    await vi.waitFor(() => expect(r.viewers().viewer(s.session.sessionId)?.connected).toBe(false), {
      timeout: 10_000,
      interval: 20,
    });
    // A round that sampled before the detach may still write its tick.
    await meterRounds(r.viewers().meter, 2);
    const snapshot = r.viewers().viewer(s.session.sessionId);
    const row = await r.ledger().session(s.session.sessionId);
    expect(row?.owed).toBe(snapshot?.owed);
    s.owedFinal = row?.owed ?? -1n;
    expect(s.owedFinal).toBeGreaterThanOrEqual(s.maxOwed);
    s.state = 'detached';
  }
  toString(): string {
    return `Disconnect(${this.actor})`;
  }
}

/** The actor answers ticks another way from now on (a right answer resends the newest tick's voucher at once). */
class SetAck implements Cmd {
  constructor(
    readonly actor: number,
    readonly mode: AckMode,
  ) {}
  check(m: Readonly<RunModel>): boolean {
    const a = m.actors[this.actor];
    return a !== undefined && a.ackMode !== this.mode;
  }
  async run(m: RunModel): Promise<void> {
    const a = m.actors[this.actor] as ActorModel;
    a.ackMode = this.mode;
    const c = a.client;
    if (!c) return;
    c.ackMode = this.mode;
    const last = c.lastTick;
    if (last) c.answer(last);
  }
  toString(): string {
    return `SetAck(${this.actor}, ${this.mode})`;
  }
}

/** The amount a settlement of `s` pays: what it signed for, or with pay-ahead one window beyond its newest tick. */
function settleAmount(m: Readonly<RunModel>, s: SessionModel): bigint {
  const target = m.terms.payAhead ? s.maxOwed + BigInt(m.terms.settleEverySeconds) * m.price : s.signedOwed;
  return target - s.settled;
}

/** Pays the creator with a `ps1:pay` transfer and waits until the ledger credits exactly that. */
async function pay(m: RunModel, r: PaymentModelStack, s: SessionModel, amount: bigint, final: boolean): Promise<void> {
  const params = {
    streamId: s.streamId,
    sessionId: s.session.sessionId,
    seq: Math.max(s.maxSeq, 1),
    creator: m.creator.address,
    asset: 'native' as const,
    amount,
  };
  const tx = final
    ? await buildFinalSettlement(r.live.client, {
        ...params,
        sessionAccount: s.session.key.address,
        wallet: s.actor.wallet.address,
      })
    : buildSettlement(r.live.client, params);
  const res = await r.live.submitter.submit(tx, sessionKeyPair(s.session.key, 42));
  expect(res.ok, `settlement of ${s.session.sessionId}`).toBe(true);
  s.settled += amount;
  if (!s.opened || amount === 0n) return;
  const expected = s.settled;
  await vi.waitFor(
    async () => {
      const row = await r.ledger().session(s.session.sessionId);
      expect((row?.settledPending ?? 0n) + (row?.settledFinal ?? 0n)).toBe(expected);
    },
    { timeout: 30_000, interval: 50 },
  );
}

/** The session account pays the creator what it signed for (or a window ahead). */
class Settle implements Cmd {
  constructor(readonly actor: number) {}
  check(m: Readonly<RunModel>): boolean {
    const s = m.actors[this.actor]?.current;
    return s?.opened === true && !s.swept && settleAmount(m, s) > 0n;
  }
  async run(m: RunModel, r: PaymentModelStack): Promise<void> {
    syncModel(m);
    const s = m.actors[this.actor]?.current as SessionModel;
    const amount = settleAmount(m, s);
    if (amount > 0n) await pay(m, r, s, amount, false);
  }
  toString(): string {
    return `Settle(${this.actor})`;
  }
}

/** Sessions of an actor that may be swept: not watching, not swept yet. */
const sweepable = (m: Readonly<RunModel>, actor: number): SessionModel[] =>
  m.sessions.filter((s) => s.actor.index === actor && s.state !== 'attached' && !s.swept);

/** A session not watching settles its arrears and sweeps the rest back to its wallet. */
class Sweep implements Cmd {
  constructor(
    readonly actor: number,
    readonly pick: number,
  ) {}
  check(m: Readonly<RunModel>): boolean {
    return sweepable(m, this.actor).length > 0;
  }
  async run(m: RunModel, r: PaymentModelStack): Promise<void> {
    const options = sweepable(m, this.actor);
    await sweep(m, r, options[this.pick % options.length] as SessionModel);
  }
  toString(): string {
    return `Sweep(${this.actor}, ${this.pick})`;
  }
}

/** Settles the arrears of a session not watching (what the ledger metered) and sweeps its account to the wallet. */
export async function sweep(m: RunModel, r: PaymentModelStack, s: SessionModel): Promise<void> {
  if (s.opened) expect((await r.ledger().session(s.session.sessionId))?.owed).toBe(s.owedFinal);
  const arrears = s.owedFinal > s.settled ? s.owedFinal - s.settled : 0n;
  await pay(m, r, s, arrears, true);
  s.swept = true;
}

/** A burst of HLS fetches with the session's token: a fresh token first, then the playlist and its segments. */
export class HlsBurst implements Cmd {
  constructor(
    readonly actor: number,
    readonly segments: number,
  ) {}
  check(m: Readonly<RunModel>): boolean {
    return attachedOf(m, this.actor)?.s.mode === 'hls';
  }
  async run(m: RunModel, r: PaymentModelStack): Promise<void> {
    const { a, s, c } = attachedOf(m, this.actor) as NonNullable<ReturnType<typeof attachedOf>>;
    const snapshot = () => r.viewers().viewer(s.session.sessionId);
    const paused = () => snapshot()?.paused;
    const wasPaused = paused();
    // Metered and still to meter: each HLS segment served adds its seconds, each tick moves one from one to the other.
    const delivered = () => (snapshot()?.watchedSeconds ?? 0) + (snapshot()?.hlsCredit ?? 0);
    const before = delivered();
    const fresh = await call(c.socket, 'hls:token', {});
    if (fresh.ok) c.hlsToken = fresh.hlsToken as string;
    else if (fresh.code === 'PAYMENT_REQUIRED') expect(wasPaused ?? paused()).toBeDefined();
    else expect(fresh.code).toBe('RATE_LIMITED');
    const url = a.playlistUrl as string;
    const get = (file?: string) =>
      fetch(`${file ? url.replace(/[^/]+$/, file) : url}?token=${encodeURIComponent(c.hlsToken ?? '')}`);
    let playlist = await get();
    // The relay needs a few seconds for its first playlist; a held viewer gets 402 (or 401 once its token expired).
    const deadline = Date.now() + 20_000;
    while (playlist.status === 404 && Date.now() < deadline) {
      await playlist.arrayBuffer();
      await new Promise((resolve) => setTimeout(resolve, 250));
      playlist = await get();
    }
    const text = await playlist.text();
    if (playlist.status !== 200) {
      expect([401, 402]).toContain(playlist.status);
      if (playlist.status === 402) expect(paused()).toBeDefined();
      if (playlist.status === 401) expect(fresh.ok && !paused()).toBe(false);
      return;
    }
    const files = text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
    let served = 0;
    for (const file of files.slice(-this.segments)) {
      const res = await get(file);
      await res.arrayBuffer();
      // 404: deleted since the playlist was read; 429: beyond one player's worth; 402: held meanwhile.
      expect([200, 402, 404, 429]).toContain(res.status);
      if (res.status === 402) expect(paused()).toBeDefined();
      if (res.status === 200) served += m.hlsSegmentSeconds;
    }
    s.hlsServed += served;
    // Every segment served reaches the session's account (the edge reports every 250 ms).
    await vi.waitFor(() => expect(delivered()).toBeGreaterThanOrEqual(before + served - 1e-6), {
      timeout: 15_000,
      interval: 50,
    });
  }
  toString(): string {
    return `HlsBurst(${this.actor}, ${this.segments})`;
  }
}

/** Time passes: `rounds` rounds of the node's meter. */
class Wait implements Cmd {
  constructor(readonly rounds: number) {}
  check(): boolean {
    return true;
  }
  async run(m: RunModel, r: PaymentModelStack): Promise<void> {
    await meterRounds(r.viewers().meter, this.rounds);
    syncModel(m);
  }
  toString(): string {
    return `Wait(${this.rounds})`;
  }
}

/**
 * A join payload of `wallet` for another's session key and id (as seen on chain): its join proof signed with the key
 * when `withKey` (a leaked key), else a garbage signature.
 */
function borrowed(r: PaymentModelStack, wallet: KeyringPair, victim: SessionModel, withKey: boolean): object {
  const { sessionId, key, budget } = victim.session;
  const { payload } = sessionWith(r.live, wallet, victim.streamId, { key, sessionId, budget });
  return withKey ? payload : { ...payload, proof: garbageSignature() };
}

/**
 * Another wallet joins with a victim's session: without its key (squatting the id seen on chain) the join proof
 * fails; with the key (a leaked key) the funding is not its own, or the session is someone else's on this node.
 */
class Borrow implements Cmd {
  constructor(
    readonly actor: number,
    readonly victim: number,
    readonly withKey: boolean,
  ) {}
  check(m: Readonly<RunModel>): boolean {
    return this.actor !== this.victim && m.actors[this.actor] !== undefined && !!m.actors[this.victim]?.current;
  }
  async run(m: RunModel, r: PaymentModelStack): Promise<void> {
    const a = m.actors[this.actor] as ActorModel;
    const v = m.actors[this.victim]?.current as SessionModel;
    const session = borrowed(r, a.wallet, v, this.withKey);
    const socket = await r.open(a.wallet);
    const res = await call(socket, 'viewer:join', { streamId: v.streamId, mode: 'webrtc', session });
    socket.close();
    if (!this.withKey) expectRefused(res, 'SIGNATURE_INVALID');
    else if (v.state === 'orphaned') expectRefused(res, 'STREAM_NOT_FOUND');
    else if (v.state === 'attached' || v.state === 'detached') expectRefused(res, 'BAD_REQUEST');
    else expectRefused(res, 'SESSION_NOT_FUNDED');
  }
  toString(): string {
    return `Borrow(${this.actor}, ${this.victim}, ${this.withKey ? 'key' : 'no key'})`;
  }
}

/** A join with a session nobody funded. */
class UnfundedJoin implements Cmd {
  constructor(readonly actor: number) {}
  check(m: Readonly<RunModel>): boolean {
    return m.actors[this.actor] !== undefined;
  }
  async run(m: RunModel, r: PaymentModelStack): Promise<void> {
    const a = m.actors[this.actor] as ActorModel;
    const session = r.live.newSession(a.wallet, m.stream.streamId, m.budget);
    const socket = await r.open(a.wallet);
    const res = await call(socket, 'viewer:join', {
      streamId: m.stream.streamId,
      mode: 'hls',
      session: session.payload,
    });
    socket.close();
    expectRefused(res, 'SESSION_NOT_FUNDED');
  }
  toString(): string {
    return `UnfundedJoin(${this.actor})`;
  }
}

/**
 * The node is closed with its viewers on it and a new one started on the same ledger database: what the old node
 * metered stays owed, the sessions' stream is gone, and the creator takes a new stream live on the new node.
 */
export class Restart implements Cmd {
  check(m: Readonly<RunModel>): boolean {
    return !m.restarted;
  }
  async run(m: RunModel, r: PaymentModelStack): Promise<void> {
    syncModel(m);
    for (const a of m.actors) dropClient(a);
    m.stream.publisher.close();
    for (const s of m.sessions) s.hlsLost += r.viewers().viewer(s.session.sessionId)?.hlsCredit ?? 0;
    await r.restart();
    m.restarted = true;
    for (const s of m.sessions) {
      if (s.opened) {
        const row = await r.ledger().session(s.session.sessionId);
        expect(row?.owed).toBeGreaterThanOrEqual(s.maxOwed);
        expect((row?.settledPending ?? -1n) + (row?.settledFinal ?? 0n)).toBe(s.settled);
        s.owedFinal = row?.owed ?? -1n;
      }
      s.state = 'orphaned';
    }
    m.stream = await r.startStream(m.creator, m.price, m.terms);
  }
  toString(): string {
    return 'Restart';
  }
}

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

/** The commands, weighted, for actors 0..`actors` − 1. */
export function commandArbitrary(actors: number): fc.Arbitrary<Cmd> {
  const actor = fc.nat({ max: actors - 1 });
  const mode = fc.constantFrom<'webrtc' | 'hls'>('webrtc', 'hls');
  const w = (weight: number, arbitrary: fc.Arbitrary<Cmd>) => ({ weight, arbitrary });
  return fc
    .oneof(
      w(
        5,
        fc.tuple(actor, mode).map(([a, md]) => new JoinNew(a, md)),
      ),
      w(
        2,
        fc.tuple(actor, mode).map(([a, md]) => new Rejoin(a, md)),
      ),
      w(
        2,
        actor.map((a) => new Leave(a)),
      ),
      w(
        2,
        actor.map((a) => new Disconnect(a)),
      ),
      w(
        2,
        fc.tuple(actor, fc.constantFrom<AckMode>('right', 'wrong', 'none')).map(([a, md]) => new SetAck(a, md)),
      ),
      w(
        4,
        actor.map((a) => new Settle(a)),
      ),
      w(
        1,
        fc.tuple(actor, fc.nat(3)).map(([a, p]) => new Sweep(a, p)),
      ),
      w(
        10,
        fc.tuple(actor, fc.integer({ min: 1, max: 8 })).map(([a, n]) => new HlsBurst(a, n)),
      ),
      w(
        6,
        fc.integer({ min: 1, max: 6 }).map((n) => new Wait(n)),
      ),
      w(
        1,
        fc.tuple(actor, actor, fc.boolean()).map(([a, v, k]) => new Borrow(a, v, k)),
      ),
      w(
        1,
        actor.map((a) => new UnfundedJoin(a)),
      ),
      w(1, fc.constant(new Restart())),
    )
    .map((c) => new StepChecked(c));
}
