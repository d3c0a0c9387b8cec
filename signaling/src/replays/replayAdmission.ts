import type { ChainClient } from '@persecond/contracts-client';
import { SignalingError } from '../errors.ts';
import type { Payload } from '../protocol.ts';
import type { SignalingSocket } from '../RequestRouter.ts';
import type { SignalingModule } from '../SignalingContext.ts';
import { checkAsset, type PayableStream, type ProvenSession, proveSessionKey } from '../viewers/admission.ts';
import type { WatchedRow } from './ReplayCharging.ts';

/** What admitting a replay session reads of the replays module. */
export interface ReplayCatalog {
  /**
   * The replay of `streamId` as what a session pays for (priced at the replay's price), when it can be watched on this
   * node now; else throws STREAM_NOT_FOUND with `details.reason` (`no-replay`, `deleted`, `recording`).
   */
  payable(streamId: string): Promise<PayableStream>;
  /** Keeps segment numbers delivered to replay sessions, before they are charged (`ReplayCharging`). */
  keepWatched(rows: readonly WatchedRow[]): Promise<void>;
  /** The segment numbers a replay session was charged for (a resumed session is not charged them again). */
  watchedOf(sessionId: string): Promise<number[]>;
}

/** The node's replay catalog (the replays module), or a refusal when this node serves no replays. */
export function replayCatalogOf(modules: ReadonlyMap<string, SignalingModule>): ReplayCatalog {
  const mod = modules.get('replays') as Partial<ReplayCatalog> | undefined;
  if (!mod || typeof mod.payable !== 'function') {
    throw new SignalingError('STREAM_NOT_FOUND', 'this node serves no replays', { reason: 'no-replay' });
  }
  return mod as ReplayCatalog;
}

/**
 * Who may join a replay: the same session-key checks as a live join (delegation to this stream, session and budget;
 * the key's join proof for this socket; the session id derived from the key), a replay that can be watched here,
 * and a delegation in the asset it is priced in. Funding, debt and prepay are checked after, as for live.
 */
export async function proveReplayJoin(
  chain: ChainClient,
  catalog: ReplayCatalog,
  socket: SignalingSocket,
  p: Payload<'replay:join'>,
): Promise<ProvenSession> {
  const key = proveSessionKey(chain, socket, p);
  const stream = await catalog.payable(p.streamId);
  checkAsset(key.delegation, stream);
  return { ...key, stream };
}
