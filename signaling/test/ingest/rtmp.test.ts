// RTMP ingest on the real stack (dev chain, mediasoup, PGlite, ffmpeg): ffmpeg pushes H.264 + AAC exactly as OBS
// would (rtmp://host:port/live + the stream key), a paying WebRTC viewer decodes the video and is ticked; unknown and
// revoked keys and a second pusher on a key are refused; killing the pusher is the creator-away path and pushing again
// within the grace resumes the same viewer; random bytes to the port close the connection. No ffmpeg process, UDP
// port or transport is left behind.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadIngestConfig } from '../../src/ingest/config.ts';
import { type IngestModule, ingestModule } from '../../src/ingest/IngestModule.ts';
import type { RtmpServer } from '../../src/ingest/RtmpServer.ts';
import type { RtmpSession } from '../../src/ingest/RtmpSession.ts';
import { joinHlsPayer } from '../adversarial/hlsPayer.ts';
import { request, signIn } from '../support/clients.ts';
import { freePort } from '../support/freePort.ts';
import { type LiveStream, startLiveStream } from '../support/liveStream.ts';

const PRICE = 1_000_000n;
const GRACE_SECONDS = 30;

/** ffmpeg pushing as OBS does (x264 veryfast zerolatency, 2-s GOP, AAC, FLV over RTMP). */
function push(
  url: string,
  key: string,
  profile?: string,
): { proc: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
  const proc = spawn(
    'ffmpeg',
    [
      ['-hide_banner', '-loglevel', 'error', '-re'],
      [
        '-f',
        'lavfi',
        '-i',
        'testsrc2=size=640x360:rate=30',
        '-f',
        'lavfi',
        '-i',
        'sine=frequency=440:sample_rate=48000',
      ],
      ['-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-g', '60', '-pix_fmt', 'yuv420p'],
      profile ? ['-profile:v', profile] : [],
      ['-c:a', 'aac', '-b:a', '128k', '-f', 'flv', `${url}/${key}`],
    ].flat(),
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  proc.stderr?.setEncoding('utf8').on('data', (s: string) => {
    err += s;
  });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return { proc, stderr: () => err, exited };
}

/** Pids of ffmpeg processes that are children of this process. */
function ffmpegChildren(): number[] {
  const out = execFileSync('ps', ['-o', 'pid=,ppid=,comm=', '-e'], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter(([, ppid, comm]) => Number(ppid) === process.pid && comm === 'ffmpeg')
    .map(([pid]) => Number(pid));
}

/** CPU of a process over 3 s, in % of one core (utime + stime from /proc). */
async function cpuPercent(pid: number | undefined): Promise<number> {
  const ticks = () => {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return Number(f[11]) + Number(f[12]);
  };
  const a = ticks();
  await new Promise((r) => setTimeout(r, 3000));
  return Math.round((ticks() - a) / 3);
}

describe('RTMP ingest with stream keys', () => {
  let live: LiveStream;
  let rtmpUrl: string;
  let aliceToken: string;
  const pushers: ReturnType<typeof push>[] = [];
  const ingest = () => live.server.modules.get('ingest') as IngestModule;
  const createKey = async (streamId?: string): Promise<{ keyId: string; token: string }> => {
    const { status, body } = await request(`${live.server.url}/v1/stream-keys`, {
      token: aliceToken,
      body: streamId ? { streamId } : {},
    });
    expect(status, JSON.stringify(body)).toBe(201);
    return { keyId: (body.key as { keyId: string }).keyId, token: body.token as string };
  };
  const pushWith = (key: string, profile?: string) => {
    const p = push(rtmpUrl, key, profile);
    pushers.push(p);
    return p;
  };
  /** The PlainTransports of the session under test (captured before it ends). */
  let plainIds: string[] = [];
  const sessionTransports = (keyId: string) => (ingest().sessions.ofKey(keyId) as RtmpSession).transportIds;
  /** The RTMP session's pids and transports gone, the room without producers. */
  const nothingLeft = async (streamId: string) => {
    await vi.waitFor(
      async () => {
        expect(ingest().sessions.size).toBe(0);
        expect(live.sfu.getRoom(streamId)?.producers ?? []).toEqual([]);
        const running = ffmpegChildren().filter((pid) => !pushers.some((p) => p.proc.pid === pid));
        expect(running).toEqual([]);
        const dump = (await live.sfu.getRoom(streamId)?.originRouter.dump()) as { transportIds?: string[] } | undefined;
        for (const id of plainIds) expect(dump?.transportIds ?? []).not.toContain(id);
      },
      { timeout: 15_000, interval: 200 },
    );
  };

  beforeAll(async () => {
    live = await startLiveStream({
      streamsEnv: { STREAM_CREATOR_GRACE_SECONDS: String(GRACE_SECONDS) },
      viewersEnv: { SETTLE_EVERY_SECONDS: '60', PAYMENT_GRACE_SECONDS: '600' },
      extraModules: [
        ingestModule(loadIngestConfig({ RTMP_PORT: String(await freePort()), RTMP_IDLE_TIMEOUT_SECONDS: '5' })),
      ],
    });
    aliceToken = await signIn(live.server.url, live.wallets.alice);
  });

  afterAll(async () => {
    for (const p of pushers) p.proc.kill('SIGKILL');
    await live?.close();
  });

  let streamId: string;
  let streamKey: { keyId: string; token: string };
  let viewer: Awaited<ReturnType<LiveStream['joinRtcViewer']>>;
  let pusher: ReturnType<typeof push>;

  it('starts an RTMP server on RTMP_PORT; the studio key list gives its port and application', async () => {
    rtmpUrl = ingest().rtmpUrl ?? '';
    expect(rtmpUrl).toMatch(/^rtmp:\/\/127\.0\.0\.1:\d+\/live$/);
    const { body } = await request(`${live.server.url}/v1/stream-keys`, { token: aliceToken });
    expect(body.rtmp).toEqual({ port: Number(rtmpUrl.split(':')[2]?.split('/')[0]), app: 'live' });
  });

  it('ffmpeg pushing as OBS goes live; a paying WebRTC viewer decodes video and audio and is ticked', async () => {
    streamId = await live.announceStream(live.wallets.alice, 'From OBS over RTMP', PRICE);
    streamKey = await createKey(streamId);
    pusher = pushWith(streamKey.token);
    await vi.waitFor(() => expect(live.sfu.getRoom(streamId)?.producers).toHaveLength(2), { timeout: 20_000 });
    expect(await live.statusOf(streamId)).toBe('live');
    // x264's default High profile is not among the router's H.264 profiles: transcoded to VP8.
    expect(
      live.sfu
        .getRoom(streamId)
        ?.producers.map((p) => p.mimeType)
        .sort(),
    ).toEqual(['audio/opus', 'video/VP8']);
    viewer = await live.joinRtcViewer(live.wallets.bob, streamId);
    await vi.waitFor(() => expect(viewer.rtc.frames).toBeGreaterThan(20), { timeout: 30_000, interval: 100 });
    await vi.waitFor(() => expect(viewer.rtc.audioFrames).toBeGreaterThan(50), { timeout: 30_000, interval: 100 });
    await vi.waitFor(() => expect(viewer.viewer.ticks.length).toBeGreaterThanOrEqual(2), { timeout: 20_000 });
    expect(ingest().sessions.activityOf(streamKey.keyId)).toMatchObject({ streamId, connected: true });
    const session = ingest().sessions.ofKey(streamKey.keyId) as RtmpSession;
    console.log(`rtmp ingest, High profile → VP8: ffmpeg ${await cpuPercent(session.pid)} % of a core (640x360p30)`);
  });

  it('an HLS viewer is served segments the relay makes from the RTMP push, and is metered', async () => {
    const { payer, playlistUrl, token } = await joinHlsPayer(live, streamId, live.wallets.dave);
    const get = (url: string) => fetch(`${url}?token=${encodeURIComponent(token)}`);
    let segment: Response | undefined;
    await vi.waitFor(
      async () => {
        let url = playlistUrl;
        let text = await (await get(url)).text();
        const variant = text.split('\n').find((l) => l.endsWith('.m3u8'));
        if (variant) {
          url = new URL(variant, url).toString();
          text = await (await get(url)).text();
        }
        const file = text.split('\n').find((l) => l.endsWith('.ts'));
        expect(file).toBeDefined();
        segment = await get(new URL(file ?? '', url).toString());
        expect(segment.status).toBe(200);
      },
      { timeout: 45_000, interval: 500 },
    );
    expect((await segment?.arrayBuffer())?.byteLength).toBeGreaterThan(1000);
    await vi.waitFor(() => expect(payer.ticks.length).toBeGreaterThanOrEqual(1), { timeout: 20_000 });
  });

  it('refuses unknown keys and a second pusher on a key at once; the first keeps publishing', async () => {
    const unknown = pushWith(`psk_${'0'.repeat(16)}_${'A'.repeat(43)}`);
    expect(await unknown.exited).not.toBe(0);
    const second = pushWith(streamKey.token);
    expect(await second.exited).not.toBe(0);
    expect(pusher.proc.exitCode).toBeNull();
    expect(live.sfu.getRoom(streamId)?.producers).toHaveLength(2);
  });

  it('killing the pusher is the creator away; pushing again within the grace resumes the same viewer', async () => {
    plainIds = sessionTransports(streamKey.keyId);
    expect(plainIds).toHaveLength(2);
    pusher.proc.kill('SIGKILL');
    await vi.waitFor(() => expect(viewer.viewer.payloads('media:paused')).toEqual([{ reason: 'creator-away' }]), {
      timeout: 20_000,
    });
    await nothingLeft(streamId);
    expect(await live.statusOf(streamId)).toBe('live');

    const frames = viewer.rtc.frames;
    pusher = pushWith(streamKey.token);
    await vi.waitFor(() => expect(viewer.viewer.payloads('media:resumed')).toHaveLength(1), { timeout: 20_000 });
    await vi.waitFor(() => expect(viewer.rtc.frames).toBeGreaterThan(frames + 20), { timeout: 30_000, interval: 100 });
  });

  it('a revoked key ends its session and is refused', async () => {
    plainIds = sessionTransports(streamKey.keyId);
    expect(plainIds).toHaveLength(2);
    const revoked = await request(`${live.server.url}/v1/stream-keys/${streamKey.keyId}/revoke`, {
      token: aliceToken,
      body: {},
    });
    expect(revoked.body).toMatchObject({ ok: true });
    expect(await pusher.exited).not.toBe(null);
    await nothingLeft(streamId);
    const again = pushWith(streamKey.token);
    expect(await again.exited).not.toBe(0);
    expect(again.stderr()).toMatch(/revoked/);
  });

  it('with RTMP_H264_PASSTHROUGH, constrained baseline H.264 passes through untouched into the router', async () => {
    if (ingest().rtmp) (ingest().rtmp as RtmpServer).h264Passthrough = true;
    const other = await live.announceStream(live.wallets.alice, 'Baseline from OBS', PRICE);
    const key = await createKey(other);
    const p = pushWith(key.token, 'baseline');
    await vi.waitFor(() => expect(live.sfu.getRoom(other)?.producers).toHaveLength(2), { timeout: 20_000 });
    expect(
      live.sfu
        .getRoom(other)
        ?.producers.map((x) => x.mimeType)
        .sort(),
    ).toEqual(['audio/opus', 'video/H264']);
    const session = ingest().sessions.ofKey(key.keyId) as RtmpSession;
    expect(session.video).toMatchObject({ mode: 'h264-passthrough' });
    // The test viewer (libwebrtc without an H.264 decoder) cannot consume it: the RTP reaching the producer is checked.
    await vi.waitFor(
      async () => {
        const [stats] = (await session.producers[1]?.getStats()) ?? [];
        expect(stats?.packetCount ?? 0).toBeGreaterThan(300);
      },
      { timeout: 20_000, interval: 200 },
    );
    console.log(`rtmp ingest, baseline H.264 passed through: ffmpeg ${await cpuPercent(session.pid)} % of a core`);
    plainIds = session.transportIds;
    p.proc.kill('SIGKILL');
    await nothingLeft(other);
    (ingest().rtmp as RtmpServer).h264Passthrough = false;
  });

  it('malformed RTMP (random bytes) closes the connection; nothing is left running', async () => {
    const port = Number(new URL(rtmpUrl.replace('rtmp:', 'http:')).port);
    for (const first of [0x17, 0x03]) {
      const sock = connect(port, '127.0.0.1');
      const closed = new Promise<void>((r) => sock.once('close', () => r()));
      sock.on('error', () => {});
      const junk = Buffer.alloc(8192);
      for (let i = 0; i < junk.length; i++) junk[i] = (i * 7919 + 13) & 0xff;
      junk[0] = first;
      sock.write(junk);
      await closed;
    }
    await vi.waitFor(() => expect(ingest().rtmp?.connections).toBe(0), { timeout: 10_000 });
    await nothingLeft(streamId);
  });
});
