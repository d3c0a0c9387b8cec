// The node commands of the payment model: time passing (rounds of the node's meter) and a node restart on the same
// ledger database.
import { expect } from 'vitest';
import { meterRounds } from '../meterRounds.ts';
import { type Cmd, dropClient, type RunModel, syncModel } from './model.ts';
import type { PaymentModelStack } from './stack.ts';

/** Time passes: `rounds` rounds of the node's meter. */
export class Wait implements Cmd {
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
