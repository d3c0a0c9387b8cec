// The closing audit the fault tests share: once the creator stops sending, a paying viewer's ticks must be one second
// each, in order, each sent once, and the ledger must close its session at exactly those (owed = seconds × price).
import { expect, vi } from 'vitest';
import type { Tick } from '../../src/index.ts';
import type { Ledger } from '../../src/ledger/Ledger.ts';
import { meterRounds } from './meterRounds.ts';

/** Waits (in the server's meter rounds) until three rounds in a row bring the viewer no new tick. */
export async function untilTicksStop(
  viewer: { readonly ticks: readonly Tick[] },
  meter: { readonly stats: { readonly rounds: number } },
): Promise<void> {
  for (let quiet = viewer.ticks.length - 1; quiet !== viewer.ticks.length; ) {
    quiet = viewer.ticks.length;
    await meterRounds(meter, 3);
  }
}

/** Every second charged was sent once, in order, one second each; the ledger closed the session at exactly those. */
export async function expectExactTicks(
  ledger: Ledger,
  viewer: { readonly sessionId: string; readonly ticks: readonly Tick[] },
  price: bigint,
): Promise<Tick | undefined> {
  const { ticks } = viewer;
  ticks.forEach((t, i) => {
    expect(t.seq).toBe(i + 1);
    expect(t.watchedSeconds).toBe(i + 1);
    expect(BigInt(t.owed)).toBe(BigInt(i + 1) * price);
  });
  const last = ticks.at(-1);
  expect(await ledger.session(viewer.sessionId)).toMatchObject({
    status: 'closed',
    lastSeq: last?.seq,
    watchedSeconds: ticks.length,
    owed: BigInt(ticks.length) * price,
    acknowledged: BigInt(last?.owed ?? -1),
  });
  return last;
}

/** Waits until the ledger holds `amount` settled (pending or final) for the session. */
export async function untilSettled(ledger: Ledger, sessionId: string, amount: bigint): Promise<void> {
  await vi.waitFor(
    async () => {
      const s = await ledger.session(sessionId);
      expect((s?.settledPending ?? 0n) + (s?.settledFinal ?? 0n)).toBe(amount);
    },
    { timeout: 60_000, interval: 200 },
  );
}
