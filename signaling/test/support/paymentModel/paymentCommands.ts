// The payment commands of the payment model: how an actor answers ticks (right, wrong or no voucher), settlements of
// what it signed for (or a window ahead), and sweeps of a session account back to its wallet.
import { buildFinalSettlement, buildSettlement, sessionKeyPair } from '@persecond/contracts-client';
import { expect, vi } from 'vitest';
import { type ActorModel, type Cmd, type RunModel, type SessionModel, syncModel } from './model.ts';
import type { AckMode, PaymentModelStack } from './stack.ts';

/** The actor answers ticks another way from now on (a right answer resends the newest tick's voucher at once). */
export class SetAck implements Cmd {
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
export class Settle implements Cmd {
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
export class Sweep implements Cmd {
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
