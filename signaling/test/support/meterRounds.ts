// Waits measured on the server's meter rather than the test's clock: on a loaded machine a round can take far longer
// than its interval, and a fixed sleep then ends before the rounds it meant to wait for.
import { expect, vi } from 'vitest';

/** Resolves once `meter` has completed `n` more rounds (each may take up to 10 s on a busy machine). */
export async function meterRounds(meter: { readonly stats: { readonly rounds: number } }, n: number): Promise<void> {
  const target = meter.stats.rounds + n;
  await vi.waitFor(() => expect(meter.stats.rounds).toBeGreaterThanOrEqual(target), {
    timeout: n * 10_000,
    interval: 50,
  });
}
