// The payment model's commands as fast-check draws them, weighted, each wrapped in the checks every step keeps.
import fc from 'fast-check';
import { HlsBurst } from './hlsBurst.ts';
import { Borrow, UnfundedJoin } from './intruderCommands.ts';
import { type Cmd, StepChecked } from './model.ts';
import { Restart, Wait } from './nodeCommands.ts';
import { SetAck, Settle, Sweep } from './paymentCommands.ts';
import type { AckMode } from './stack.ts';
import { Disconnect, JoinNew, Leave, Rejoin } from './viewerCommands.ts';

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
