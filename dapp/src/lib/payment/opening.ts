// Opening a session key (new, or from an earlier visit) as the page's session: a FundedSession whose voucher loop and
// settler report to the watch session's figures, which start afresh from the key's record.
import type { StreamView } from '../api/streams.ts';
import { explain } from '../errors.ts';
import { FundedSession } from './FundedSession.ts';
import type { SessionKey } from './sessionKey.ts';
import type { StoredSession } from './sessionStore.ts';
import type { ViewerConnection } from './ViewerConnection.ts';
import type { WatchTimings } from './watchStatus.ts';

/** The watch session's figures a funded session reads and sets (its own reactive fields). */
export interface OpenedSession {
  readonly stream: StreamView;
  readonly timings: WatchTimings;
  readonly settlementsStopped: boolean;
  watchedSeconds: number;
  owed: bigint;
  budget: bigint;
  mode: 'webrtc' | 'hls' | undefined;
  problem: string | undefined;
}

/** `key` (with its stored record) as the page's session: fresh meter and settler, figures reset to its record. */
export function openFundedSession(
  s: OpenedSession,
  link: ViewerConnection,
  key: SessionKey,
  stored: StoredSession,
): FundedSession {
  const funded = new FundedSession(key, stored, {
    genesisHash: link.genesis,
    stream: s.stream,
    socket: () => link.socket,
    budget: () => s.budget,
    stopped: () => s.settlementsStopped,
    acknowledged: (tick) => {
      s.watchedSeconds = tick.watchedSeconds;
      s.owed = BigInt(tick.owed);
      funded.settler.due(s.owed, tick.seq);
    },
    landed: () => {
      s.timings.firstSettled ??= performance.now();
    },
    failed: (err) => {
      s.problem = `A payment to the creator did not go through: ${explain(err)}`;
    },
  });
  s.watchedSeconds = 0;
  s.owed = 0n;
  s.budget = BigInt(stored.budget);
  s.mode = undefined;
  return funded;
}
