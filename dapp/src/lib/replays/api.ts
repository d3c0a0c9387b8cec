// The signaling node's replays (`GET /v1/streams/:id/replay`, `GET /v1/replays[?creator=]`, `DELETE
// /v1/streams/:id/replay`): a stream's recording, what a second of it costs, and its creator's delete.
import { ReplayInfo } from '@persecond/signaling/protocol';
import { z } from 'zod';
import { getJson } from '../api/http.ts';
import { config } from '../config.ts';
import { UserFacingError } from '../errors.ts';

export type { ReplayInfo } from '@persecond/signaling/protocol';

/** Why a stream has no replay to show (`details.reason` of the node's STREAM_NOT_FOUND). */
export type NoReplayReason = 'no-replay' | 'deleted' | 'recording';

const One = z.object({ replay: ReplayInfo }).transform((v) => v.replay);
const Many = z.object({ replays: z.array(ReplayInfo) }).transform((v) => v.replays);
const Deleted = z.object({ streamId: z.string() });

const base = () => config.PUBLIC_SIGNALING_URL;

/** A stream's replay; throws STREAM_NOT_FOUND (see `noReplayReason`) when it has none to show. */
export function getReplay(streamId: string, f: typeof fetch = fetch): Promise<ReplayInfo> {
  return getJson(`${base()}/v1/streams/${encodeURIComponent(streamId)}/replay`, One, { fetch: f });
}

/** Replays with a recording on the node, newest first: all, or one creator's. */
export function listReplays(creator?: string, f: typeof fetch = fetch): Promise<ReplayInfo[]> {
  const query = creator ? `?creator=${encodeURIComponent(creator)}` : '';
  return getJson(`${base()}/v1/replays${query}`, Many, { fetch: f });
}

/** Deletes a replay for its signed-in creator (NOT_CREATOR otherwise): its files go, nothing is served afterwards. */
export async function deleteReplay(streamId: string, f: typeof fetch = fetch): Promise<void> {
  await getJson(`${base()}/v1/streams/${encodeURIComponent(streamId)}/replay`, Deleted, {
    fetch: f,
    method: 'DELETE',
    credentials: 'include',
  });
}

/** Why `err` says a stream has no replay, when it is the node's STREAM_NOT_FOUND about one. */
export function noReplayReason(err: unknown): NoReplayReason | undefined {
  if (!(err instanceof UserFacingError) || err.code !== 'STREAM_NOT_FOUND') return undefined;
  const reason = err.details?.reason;
  return reason === 'deleted' || reason === 'recording' ? reason : 'no-replay';
}

/** What to tell a person about a stream without a replay to watch. */
export function noReplaySentence(reason: NoReplayReason): string {
  return {
    'no-replay': 'This stream has no replay: it was not recorded, or its recording is no longer kept.',
    deleted: 'This replay is gone: its creator deleted it.',
    recording: 'This stream is still live: its replay is ready a few seconds after it ends.',
  }[reason];
}

/** Throws a sentence when the replay cannot be watched now (asked afresh, before any budget is funded). */
export async function checkReplayWatchable(streamId: string): Promise<void> {
  let replay: ReplayInfo;
  try {
    replay = await getReplay(streamId);
  } catch (err) {
    const reason = noReplayReason(err);
    if (reason) throw new UserFacingError('STREAM_NOT_FOUND', noReplaySentence(reason), { reason });
    throw err;
  }
  if (replay.status !== 'ready') {
    throw new UserFacingError('STREAM_NOT_FOUND', noReplaySentence('recording'), { reason: 'recording' });
  }
}
