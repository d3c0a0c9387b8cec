// The creator's stream keys for OBS (WHIP and RTMP ingest) on the signaling server, with the session cookie: list, create (the
// token comes back once), rotate (a new token, once), revoke.
import { StreamId } from '@persecond/signaling/protocol';
import { z } from 'zod';
import { getJson, postJson } from './http.ts';

const KeyId = z.string().regex(/^[0-9a-f]{16}$/);

/** A key as the studio lists it: what it publishes to and what it publishes now (never its token). */
export const StreamKeyView = z.object({
  keyId: KeyId,
  /** The stream it publishes to; null for the channel key (the creator's live or newest announced stream). */
  streamId: StreamId.nullable(),
  createdAt: z.string(),
  rotatedAt: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
  publishing: z.object({ streamId: StreamId, since: z.string(), connected: z.boolean() }).nullable(),
});
export type StreamKeyView = z.infer<typeof StreamKeyView>;

/** The node's RTMP ingest: port and application (rtmp://<signaling host>:<port>/<app>); null when it has none. */
const RtmpInfo = z.object({ port: z.number().int().min(1).max(65_535), app: z.string().regex(/^[A-Za-z0-9_-]+$/) });
const KeyList = z.object({
  whipPath: z.string().startsWith('/'),
  rtmp: RtmpInfo.nullable().default(null),
  keys: z.array(StreamKeyView),
});
/** A created or rotated key with its token, shown once. */
const Issued = z.object({
  whipPath: z.string().startsWith('/'),
  key: StreamKeyView,
  token: z.string().regex(/^psk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/),
});
export type IssuedStreamKey = z.infer<typeof Issued>;

/** The signed-in creator's keys in use and the WHIP path of the server. */
export function listStreamKeys(baseUrl: string): Promise<z.infer<typeof KeyList>> {
  return getJson(`${baseUrl}/v1/stream-keys`, KeyList, { credentials: 'include' });
}

/** A new key for `streamId`, or the channel key when `streamId` is null. */
export function createStreamKey(baseUrl: string, streamId: string | null): Promise<IssuedStreamKey> {
  return postJson(`${baseUrl}/v1/stream-keys`, streamId ? { streamId } : {}, Issued);
}

/** A new token for a key; the old one stops working (a running broadcast goes on). */
export function rotateStreamKey(baseUrl: string, keyId: string): Promise<IssuedStreamKey> {
  return postJson(`${baseUrl}/v1/stream-keys/${keyId}/rotate`, {}, Issued);
}

/** Revokes a key for good; a broadcast running with it ends. */
export async function revokeStreamKey(baseUrl: string, keyId: string): Promise<void> {
  await postJson(`${baseUrl}/v1/stream-keys/${keyId}/revoke`, {}, z.object({ ok: z.literal(true) }));
}

/** The WHIP URL to paste into OBS (Settings → Stream → Service: WHIP → Server). */
export function whipUrlOf(baseUrl: string, whipPath: string): string {
  return new URL(whipPath, baseUrl).toString();
}

/** The RTMP server URL to paste into OBS (Service: Custom → Server; the stream key is the Stream Key). */
export function rtmpUrlOf(baseUrl: string, rtmp: z.infer<typeof RtmpInfo>): string {
  return `rtmp://${new URL(baseUrl).hostname}:${rtmp.port}/${rtmp.app}`;
}
