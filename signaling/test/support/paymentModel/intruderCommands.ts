// The intruder commands of the payment model: joins with another's session (its id squatted, or its key leaked) and
// joins with a session nobody funded, each refused with the reason the node must give.
import type { KeyringPair } from '@polkadot/keyring/types';
import { garbageSignature, sessionWith } from '../../adversarial/viewerAttacks.ts';
import { call } from '../../viewers-support.ts';
import { type ActorModel, type Cmd, expectRefused, type RunModel, type SessionModel } from './model.ts';
import type { PaymentModelStack } from './stack.ts';

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
export class Borrow implements Cmd {
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
export class UnfundedJoin implements Cmd {
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
