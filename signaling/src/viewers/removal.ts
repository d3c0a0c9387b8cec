import type { Logger } from 'pino';
import { protocolAddress } from '../accounts.ts';
import type { ViewerReleaseReason } from '../protocol.ts';
import type { LeaveTotals } from './creatorEvents.ts';
import type { ViewerRegistry } from './ViewerRegistry.ts';
import type { ViewerSession } from './ViewerSession.ts';

/**
 * Ends every session of `wallet` watching `streamId` on this node the way `viewer:leave` does (charged, closed in the
 * ledger: the client settles `owed − settled` and sweeps the rest back) and tells its socket `viewer:released` with
 * `reason`; a session waiting for a reconnect is ended too. Answers how many were ended.
 */
export async function removeWallet(
  registry: ViewerRegistry,
  finish: (s: ViewerSession) => Promise<LeaveTotals>,
  log: Logger,
  wallet: string,
  streamId: string,
  reason: ViewerReleaseReason,
): Promise<number> {
  const address = protocolAddress(wallet);
  const sessions = registry.ofStream(streamId).filter((s) => s.wallet === address);
  return removeSessions(registry, finish, log, sessions, reason);
}

/**
 * Ends every replay session of `streamId` on this node as on leave and tells its socket `viewer:released
 * {reason: 'replay-deleted'}` (its creator deleted the replay). Answers how many were ended.
 */
export function removeReplays(
  registry: ViewerRegistry,
  finish: (s: ViewerSession) => Promise<LeaveTotals>,
  log: Logger,
  streamId: string,
): Promise<number> {
  const sessions = registry.ofStream(streamId).filter((s) => s.mode === 'replay');
  return removeSessions(registry, finish, log, sessions, 'replay-deleted');
}

/** Ends `sessions` as on leave, each in its lifecycle lock, telling each socket `viewer:released` with `reason`. */
async function removeSessions(
  registry: ViewerRegistry,
  finish: (s: ViewerSession) => Promise<LeaveTotals>,
  log: Logger,
  sessions: readonly ViewerSession[],
  reason: ViewerReleaseReason,
): Promise<number> {
  let removed = 0;
  for (const s of sessions) {
    try {
      await registry.serialize(s.sessionId, async () => {
        if (s.closed) return;
        const socket = s.socket;
        const totals = await finish(s);
        removed++;
        log.info({ sessionId: s.sessionId, reason, ...totals }, 'viewer removed from the stream');
        socket?.emit('viewer:released', { reason, owed: totals.owed, settled: totals.settled });
      });
    } catch (err) {
      log.warn({ err, sessionId: s.sessionId }, 'could not remove a viewer from the stream');
    }
  }
  return removed;
}
