// WHIP ingest on the real stack (dev chain, mediasoup, PGlite, libwebrtc clients): a creator's stream key publishes
// from a WHIP client as OBS would and a paying WebRTC viewer decodes the media over the ordinary signaling path; the
// refusals (no key, unknown, revoked, already publishing, another creator's stream, bad SDP, oversized, wrong type);
// DELETE, a lost connection and a revocation end the session through the creator-away path.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadIngestConfig } from '../../src/ingest/config.ts';
import { type IngestModule, ingestModule } from '../../src/ingest/IngestModule.ts';
import { request, signIn } from '../support/clients.ts';
import { type LiveStream, startLiveStream } from '../support/liveStream.ts';
import { startWhipPublisher, type WhipPublisher, whipPost } from '../support/whipClient.ts';
import { callOk } from '../viewers-support.ts';

const PRICE = 1_000_000n;
const GRACE_SECONDS = 30;

describe('WHIP ingest with stream keys', () => {
  let live: LiveStream;
  let whipUrl: string;
  let aliceToken: string;
  let bobToken: string;
  const publishers: WhipPublisher[] = [];

  const keysApi = async (path: string, token: string, init: { method?: string; body?: unknown } = {}) =>
    request(`${live.server.url}/v1/stream-keys${path}`, { token, ...init });
  const createKey = async (token: string, streamId?: string): Promise<{ keyId: string; token: string }> => {
    const { status, body } = await keysApi('', token, { body: streamId ? { streamId } : {} });
    expect(status, JSON.stringify(body)).toBe(201);
    return { keyId: (body.key as { keyId: string }).keyId, token: body.token as string };
  };
  const publish = async (token: string | undefined, kinds?: ('audio' | 'video')[]) => {
    const p = await startWhipPublisher(whipUrl, token, kinds);
    publishers.push(p);
    return p;
  };
  const ingest = () => live.server.modules.get('ingest') as IngestModule;

  beforeAll(async () => {
    live = await startLiveStream({
      streamsEnv: { STREAM_CREATOR_GRACE_SECONDS: String(GRACE_SECONDS) },
      viewersEnv: { SETTLE_EVERY_SECONDS: '60', PAYMENT_GRACE_SECONDS: '600' },
      extraModules: [
        ingestModule(loadIngestConfig({ WHIP_CONNECT_TIMEOUT_SECONDS: '4', WHIP_OFFER_MAX_BYTES: '8192' })),
      ],
    });
    whipUrl = `${live.server.url}/whip`;
    aliceToken = await signIn(live.server.url, live.wallets.alice);
    bobToken = await signIn(live.server.url, live.wallets.bob);
  });

  afterAll(async () => {
    for (const p of publishers) p.close();
    await live?.close();
  });

  let streamId: string;
  let streamKey: { keyId: string; token: string };
  let channelKey: { keyId: string; token: string };
  let whip: WhipPublisher;
  /** An offer of a real client, kept to POST again once that client is gone. */
  let offerSdp: string;
  let viewer: Awaited<ReturnType<LiveStream['joinRtcViewer']>>;

  it('publishes with a stream key: 201, the answer and its Location; a paying viewer decodes video and audio', async () => {
    streamId = await live.announceStream(live.wallets.alice, 'From OBS', PRICE);
    streamKey = await createKey(aliceToken, streamId);
    channelKey = await createKey(aliceToken);
    whip = await publish(streamKey.token);
    offerSdp = whip.pc.localDescription?.sdp ?? '';
    expect(whip.answer.status, whip.answer.text).toBe(201);
    expect(whip.answer.headers.get('content-type')).toMatch(/^application\/sdp/);
    expect(whip.answer.headers.get('location')).toMatch(/^\/whip\/[A-Za-z0-9_-]{22}$/);
    expect(whip.answer.text).toMatch(/^v=0\r\n/);
    await whip.connected();
    expect(await live.statusOf(streamId)).toBe('live');
    const room = live.sfu.getRoom(streamId);
    expect(room?.producers.map((p) => [p.kind, p.mimeType]).sort()).toEqual([
      ['audio', 'audio/opus'],
      ['video', 'video/VP8'],
    ]);

    viewer = await live.joinRtcViewer(live.wallets.bob, streamId);
    await vi.waitFor(() => expect(viewer.rtc.frames).toBeGreaterThan(20), { timeout: 30_000, interval: 100 });
    await vi.waitFor(() => expect(viewer.rtc.audioFrames).toBeGreaterThan(50), { timeout: 30_000, interval: 100 });
    await vi.waitFor(() => expect(viewer.viewer.ticks.length).toBeGreaterThanOrEqual(2), { timeout: 20_000 });
    expect(viewer.viewer.lastTick).toMatchObject({ seq: viewer.viewer.ticks.length });

    // The studio sees which key publishes, and never a token again.
    const { body } = await keysApi('', aliceToken);
    const listed = body.keys as { keyId: string; streamId: string | null; publishing: unknown }[];
    expect(listed.find((k) => k.keyId === streamKey.keyId)?.publishing).toMatchObject({ streamId, connected: true });
    expect(listed.find((k) => k.keyId === channelKey.keyId)).toMatchObject({ streamId: null, publishing: null });
    expect(JSON.stringify(body)).not.toContain(streamKey.token);
  });

  it('refuses at once, with a reason: no key, unknown and malformed keys, a key or stream already publishing', async () => {
    const offer = whip.pc.localDescription?.sdp ?? '';
    const none = await whipPost(whipUrl, offer);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(none.json).toMatchObject({ ok: false, code: 'STREAM_KEY_INVALID' });
    const unknown = await whipPost(whipUrl, offer, { token: `psk_${'0'.repeat(16)}_${'A'.repeat(43)}` });
    expect([unknown.status, unknown.json?.code]).toEqual([401, 'STREAM_KEY_INVALID']);
    const garbage = await whipPost(whipUrl, offer, { token: 'live_123456' });
    expect([garbage.status, garbage.json?.code]).toEqual([401, 'STREAM_KEY_INVALID']);

    const again = await whipPost(whipUrl, offer, { token: streamKey.token });
    expect([again.status, again.json?.code, again.json?.details?.reason]).toEqual([409, 'ALREADY_PUBLISHING', 'key']);
    // The channel key leads to the same (live) stream, which already has an ingest.
    const other = await whipPost(whipUrl, offer, { token: channelKey.token });
    expect([other.status, other.json?.code, other.json?.details?.reason]).toEqual([
      409,
      'ALREADY_PUBLISHING',
      'stream',
    ]);
    // Nothing was added to the room by the refused offers.
    expect(live.sfu.getRoom(streamId)?.producers).toHaveLength(2);
  });

  it('refuses keys for another creator’s stream, bad SDP, oversized and non-SDP bodies; answers OPTIONS and PATCH', async () => {
    const bobs = await keysApi('', bobToken, { body: { streamId } });
    expect([bobs.status, bobs.body.code]).toEqual([403, 'NOT_CREATOR']);
    // Bob's channel key finds no stream of his: Alice's are not his to publish.
    const bobChannel = await createKey(bobToken);
    const bobTry = await whipPost(whipUrl, whip.pc.localDescription?.sdp ?? '', { token: bobChannel.token });
    expect([bobTry.status, bobTry.json?.code, bobTry.json?.details?.reason]).toEqual([
      409,
      'STREAM_NOT_LIVE',
      'no-stream',
    ]);

    const other = await live.announceStream(live.wallets.alice, 'Bad offers', PRICE);
    const key = await createKey(aliceToken, other);
    const bad = await whipPost(whipUrl, 'hello', { token: key.token });
    expect([bad.status, bad.json?.code]).toEqual([400, 'BAD_REQUEST']);
    expect(bad.json?.message).toMatch(/SDP/);
    const noMedia = await whipPost(whipUrl, 'v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n', { token: key.token });
    expect([noMedia.status, noMedia.json?.message]).toEqual([400, 'the offer has no media section']);
    const recvOnly = (whip.pc.localDescription?.sdp ?? '').replaceAll('a=sendonly', 'a=recvonly');
    const notSending = await whipPost(whipUrl, recvOnly, { token: key.token });
    expect([notSending.status, notSending.json?.message]).toEqual([400, 'the video section does not send (recvonly)']);
    const huge = await whipPost(whipUrl, `v=0\r\n${'a=x\r\n'.repeat(4000)}`, { token: key.token });
    expect(huge.status).toBe(413);
    const json = await whipPost(whipUrl, '{}', { token: key.token, contentType: 'application/json' });
    expect(json.status).toBe(415);
    // None of them took the stream live.
    expect(await live.statusOf(other)).toBe('announced');
    expect(live.sfu.getRoom(other)).toBeUndefined();

    const preflight = await fetch(whipUrl, {
      method: 'OPTIONS',
      headers: { origin: 'https://obs.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
    expect(preflight.headers.get('access-control-expose-headers')).toMatch(/Location/);
    expect(preflight.headers.get('accept-post')).toBe('application/sdp');
    const patch = await fetch(whip.resource ?? '', { method: 'PATCH', body: 'a=candidate' });
    expect([patch.status, patch.headers.get('allow')]).toEqual([405, 'DELETE, OPTIONS']);
  });

  it('DELETE ends the producers and runs the creator-away path; the channel key resumes the same viewers in time', async () => {
    const room = live.sfu.getRoom(streamId);
    expect(await whip.stop()).toBe(200);
    expect(room?.producers).toEqual([]);
    await vi.waitFor(() => expect(viewer.viewer.payloads('media:paused')).toEqual([{ reason: 'creator-away' }]), {
      timeout: 15_000,
    });
    expect(await live.statusOf(streamId)).toBe('live');
    expect(ingest().sessions.size).toBe(0);
    const gone = await fetch(whip.resource ?? '', { method: 'DELETE' });
    expect(gone.status).toBe(404);

    // Within the grace, the channel key goes live again on the same stream (the creator's live one).
    const frames = viewer.rtc.frames;
    whip = await publish(channelKey.token);
    expect(whip.answer.status, whip.answer.text).toBe(201);
    await whip.connected();
    await vi.waitFor(() => expect(viewer.viewer.payloads('media:resumed')).toHaveLength(1), { timeout: 20_000 });
    await vi.waitFor(() => expect(viewer.rtc.frames).toBeGreaterThan(frames + 20), { timeout: 30_000, interval: 100 });
  });

  it('a revoked key ends its session and is refused as revoked; a lost connection is the creator away too', async () => {
    const revoked = await keysApi(`/${channelKey.keyId}/revoke`, aliceToken, { body: {} });
    expect(revoked.body).toMatchObject({ ok: true, keyId: channelKey.keyId });
    expect(live.sfu.getRoom(streamId)?.producers).toEqual([]);
    await vi.waitFor(() => expect(viewer.viewer.saw('media:paused')).toBe(2), { timeout: 15_000 });
    const refused = await whipPost(whipUrl, offerSdp, { token: channelKey.token });
    expect([refused.status, refused.json?.code]).toEqual([401, 'STREAM_KEY_REVOKED']);

    // The stream key (not revoked) publishes again; then the client vanishes without a DELETE.
    whip = await publish(streamKey.token);
    expect(whip.answer.status, whip.answer.text).toBe(201);
    await whip.connected();
    await vi.waitFor(() => expect(viewer.viewer.payloads('media:resumed')).toHaveLength(2), { timeout: 20_000 });
    whip.close();
    await vi.waitFor(() => expect(viewer.viewer.saw('media:paused')).toBe(3), { timeout: 45_000, interval: 200 });
    expect(ingest().sessions.size).toBe(0);
    expect(live.sfu.getRoom(streamId)?.producers).toEqual([]);
  });

  it('ends a session whose client never connects, and frees its key', async () => {
    const offerOnly = await whipPost(whipUrl, offerSdp, { token: streamKey.token });
    expect(offerOnly.status, offerOnly.text).toBe(201);
    expect(ingest().sessions.size).toBe(1);
    await vi.waitFor(() => expect(ingest().sessions.size).toBe(0), { timeout: 15_000, interval: 100 });
    expect(live.sfu.getRoom(streamId)?.producers).toEqual([]);
    // The key is free again: a real client publishes with it.
    whip = await publish(streamKey.token);
    expect(whip.answer.status, whip.answer.text).toBe(201);
    await whip.connected();
  });

  it('ends with the stream: stream:end from the studio closes the WHIP session, and its key is then refused', async () => {
    const studio = await live.open(live.wallets.alice);
    await callOk(studio, 'stream:end', { streamId });
    await vi.waitFor(() => expect(viewer.viewer.payloads('stream:ended')).toEqual([{ streamId }]), { timeout: 15_000 });
    await vi.waitFor(() => expect(ingest().sessions.size).toBe(0), { timeout: 10_000, interval: 100 });
    expect(live.sfu.getRoom(streamId)).toBeUndefined();
    const after = await whipPost(whipUrl, offerSdp, { token: streamKey.token });
    expect([after.status, after.json?.code, after.json?.details?.reason]).toEqual([409, 'STREAM_NOT_LIVE', 'ended']);
  });
});
