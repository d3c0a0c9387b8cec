import { CapacityFullError, type Room } from '@persecond/sfu';
import type { HlsEdgeHooks } from '../hlsEdge/hlsEdgeHooks.ts';
import type { Payload } from '../protocol.ts';
import { fromSfu } from '../sfuErrors.ts';
import type { ViewerSession } from './ViewerSession.ts';

/**
 * Puts an admitted session's media in its room: WebRTC (a receive transport) while capacity allows, else — asked for
 * `auto`, or `hls` outright — the HLS relay. Throws the SFU's refusal as a signaling error (CAPACITY_FULL for a
 * `webrtc` request on a full room).
 */
export async function place(
  room: Room,
  s: ViewerSession,
  asked: Payload<'viewer:join'>['mode'],
): Promise<'webrtc' | 'hls'> {
  if (asked !== 'hls') {
    try {
      s.transport = await room.addViewer(s.sessionId);
      return 'webrtc';
    } catch (err) {
      if (!(err instanceof CapacityFullError) || asked !== 'auto') throw fromSfu(err);
    }
  }
  try {
    await room.addHlsViewer(s.sessionId);
  } catch (err) {
    throw fromSfu(err);
  }
  return 'hls';
}

/**
 * Takes the session's media out of its room (its transport or HLS registration; a replay has none) and off the edge's
 * allow list.
 */
export function unplace(room: Room | undefined, s: ViewerSession, hlsEdge: HlsEdgeHooks): void {
  if (s.mode === 'webrtc') room?.removeViewer(s.sessionId);
  else if (s.mode === 'hls') room?.removeHlsViewer(s.sessionId);
  s.transport = undefined;
  hlsEdge.sync(s);
}
