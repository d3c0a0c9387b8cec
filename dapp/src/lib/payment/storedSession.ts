// What the session store keeps of a watch session (no DOM here: pure code and tests use it too).
import type { SessionKind } from './watchStatus.ts';

/** A stored watch session. */
export interface StoredSession {
  sessionId: string;
  streamId: string;
  wallet: string;
  creator: string;
  asset: string;
  /** Hex of the 32-byte ed25519 seed. */
  seedHex: string;
  /** Planck funded into the session account so far (budget and top-ups). */
  budget: string;
  createdAt: number;
  /** The wallet's signed delegation of the session key (its budget is the delegated one), once signed. */
  delegation?: { message: string; signature: `0x${string}`; budget: string };
  /** Hash of the block the first funding landed in: sent at join, so the server can find it on chain. */
  fundedIn?: `0x${string}`;
  /** Highest amount this browser signed a voucher for: what the server can count as acknowledged, at most. */
  acknowledged?: string;
  /** What this browser saw settled in a block: the server may count more (a payment that landed after a crash). */
  settled?: string;
  /** What the session pays for: the live stream or its replay (absent: live, as before replays). */
  kind?: SessionKind;
}

/** The record of a session about to be funded: kept before any money moves, so a closed tab can recover it. */
export function newStoredSession(
  s: Pick<StoredSession, 'sessionId' | 'streamId' | 'wallet' | 'creator' | 'asset' | 'seedHex' | 'kind'>,
): StoredSession {
  // Nothing signed for yet: an old debt is never paid from a session that owes nothing.
  return { ...s, budget: '0', createdAt: Date.now(), acknowledged: '0', settled: '0' };
}
