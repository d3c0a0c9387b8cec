// The end of a stream as the pages show it and as the chain shows it: a viewer's ended screen (seconds, paid, refunded)
// and the creator's summary, read from their data attributes; a wallet's newest session and a stream's settlements,
// read from the chain's protocol events.
import type { ProtocolEvent } from '@persecond/contracts-client';
import type { Page } from 'playwright-core';

/** What a viewer's ended screen shows: seconds watched, planck paid and refunded, and its sentence. */
export async function endedFigures(
  page: Page,
): Promise<{ seconds: number; paid: bigint; refunded: bigint; text: string }> {
  const figures = page.getByTestId('ended-figures');
  await figures.waitFor({ timeout: 90_000 });
  const attr = async (name: string) => (await figures.getAttribute(`data-${name}`)) ?? '';
  return {
    seconds: Number(await attr('watched')),
    paid: BigInt(await attr('paid')),
    refunded: BigInt(await attr('refunded')),
    text: ((await figures.textContent()) ?? '').replace(/\s+/g, ' ').trim(),
  };
}

/** What the chain shows of `wallet`'s newest session: how many sessions it funded, paid to creators, refunds. */
export function newestSessionMoves(
  events: readonly ProtocolEvent[],
  wallet: string,
): { sessions: number; paid: bigint; refunds: bigint[] } {
  const fundings = events.flatMap((e) => (e.type === 'funding' && e.wallet === wallet ? [e.sessionId] : []));
  const sessionId = fundings.at(-1);
  let paid = 0n;
  const refunds: bigint[] = [];
  for (const e of events) {
    if (e.type === 'settlement' && e.sessionId === sessionId) paid += e.amount;
    if (e.type === 'refund' && e.sessionId === sessionId) refunds.push(e.amount);
  }
  return { sessions: new Set(fundings).size, paid, refunds };
}

/** Σ settled to the stream's creator by its viewers' sessions, on chain. */
export function streamSettled(events: readonly ProtocolEvent[], streamId: string): bigint {
  return events.reduce((sum, e) => (e.type === 'settlement' && e.streamId === streamId ? sum + e.amount : sum), 0n);
}
