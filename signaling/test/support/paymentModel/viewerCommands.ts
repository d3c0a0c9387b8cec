// The viewer lifecycle commands of the payment model: a new funded session joined, the current session rejoined on a
// new socket, a leave, and a dropped socket the node keeps the session for.
import { expect, vi } from 'vitest';
import { sessionCapacity } from '../../../src/hlsEdge/FetchPolicy.ts';
import { type AckJson, call, callOk, startRtcViewer } from '../../viewers-support.ts';
import { meterRounds } from '../meterRounds.ts';
import {
  type ActorModel,
  attachedOf,
  type Cmd,
  creatorExposure,
  dropClient,
  expectRefused,
  predictedDebt,
  type RunModel,
  type SessionModel,
  syncModel,
} from './model.ts';
import type { ModelViewer, PaymentModelStack } from './stack.ts';

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
export class Rejoin implements Cmd {
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
export class Leave implements Cmd {
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
export class Disconnect implements Cmd {
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
