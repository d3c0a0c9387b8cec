// The live thumbnail route (`GET /v1/streams/:id/thumbnail.jpg`, issue 17) on the real parts: the dev chain, a real
// mediasoup worker and the SFU's ffmpeg thumbnailer, a creator publishing libwebrtc video over the signaling socket.
import { existsSync } from 'node:fs';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type LiveStream, startLiveStream } from './support/liveStream.ts';

describe('GET /v1/streams/:id/thumbnail.jpg', () => {
  let live: LiveStream;
  let streamId: string;
  let creator: Socket;
  const url = (id: string) => `${live.server.url}/v1/streams/${id}/thumbnail.jpg`;
  /** Status and stable code of a refused request. */
  const refusal = async (id: string) => {
    const res = await fetch(url(id));
    return { status: res.status, code: ((await res.json()) as { code?: string }).code };
  };

  beforeAll(async () => {
    live = await startLiveStream({ sfuEnv: { THUMBNAIL_INTERVAL_SECONDS: '2' } });
    streamId = await live.announceStream(live.wallets.alice, 'Thumbnail', 1_000n);
    creator = await live.open(live.wallets.alice);
  });

  afterAll(async () => {
    await live?.close();
  });

  it('refuses with stable codes: no such stream, a malformed id, not live, live without a picture yet', async () => {
    expect(await refusal('NoSuchStream0000')).toEqual({ status: 404, code: 'STREAM_NOT_FOUND' });
    expect(await refusal('x')).toEqual({ status: 400, code: 'BAD_REQUEST' });
    expect(await refusal(streamId)).toEqual({ status: 409, code: 'STREAM_NOT_LIVE' });
    expect(await creator.emitWithAck('stream:goLive', { streamId })).toMatchObject({ ok: true });
    // Live, nothing published: nothing to take a picture of.
    expect(await refusal(streamId)).toEqual({ status: 404, code: 'THUMBNAIL_NOT_READY' });
  });

  it('serves the picture without a session once the SFU took one: a JPEG, public for 5 s', async () => {
    await live.publish(creator, streamId, ['video']);
    const res = await vi.waitFor(
      async () => {
        const r = await fetch(url(streamId));
        if (r.status !== 200) throw new Error(`still ${r.status} ${JSON.stringify(await r.json())}`);
        return r;
      },
      { timeout: 60_000, interval: 250 },
    );
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    expect(res.headers.get('cache-control')).toBe('public, max-age=5');
    const body = Buffer.from(await res.arrayBuffer());
    // SOI first, EOI last: a whole picture, never one ffmpeg is still writing.
    expect([...body.subarray(0, 2)]).toEqual([0xff, 0xd8]);
    expect([...body.subarray(-2)]).toEqual([0xff, 0xd9]);
  });

  it('refuses again once the stream ended, and the picture is gone', async () => {
    const file = live.sfu.thumbnail(streamId);
    expect(file).not.toBeNull();
    expect(await creator.emitWithAck('stream:end', { streamId })).toMatchObject({ ok: true });
    expect(await refusal(streamId)).toEqual({ status: 409, code: 'STREAM_NOT_LIVE' });
    expect(live.sfu.thumbnail(streamId)).toBeNull();
    expect(live.sfu.roomThumbnail(streamId)).toBeUndefined();
    expect(existsSync(file as string)).toBe(false);
  });
});
