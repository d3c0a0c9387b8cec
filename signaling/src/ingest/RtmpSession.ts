import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { types as ms } from 'mediasoup';
import { type IngestEndReason, IngestSession, type IngestSessionInit } from './IngestSession.ts';
import { FLV_HEADER } from './rtmpProtocol.ts';

/** What an RTMP session is created from (the publish was accepted and the first video header is known). */
export interface RtmpSessionInit extends IngestSessionInit<RtmpSession> {
  /**
   * `profile-level-id` of the pushed H.264 (from its sequence header) when it may pass through; undefined when it is
   * not H.264 or passthrough is off (transcoded to VP8).
   */
  h264Profile: string | undefined;
}

/** How the pushed video reaches the router. */
export type VideoPath = { mode: 'h264-passthrough'; profileLevelId: string } | { mode: 'vp8-transcode' };

const AUDIO_PT = 100;
const VIDEO_PT = 101;

/**
 * The router offers H.264 constrained baseline (42e0) and main (4d); mediasoup matches H.264 by profile, so those two
 * pass through untouched; anything else (x264's and OBS's default High profile) is transcoded to VP8.
 */
export function videoPathFor(profile: string | undefined): VideoPath {
  if (profile && /^[0-9a-f]{6}$/.test(profile)) {
    const idc = profile.slice(0, 2);
    const constraints = Number.parseInt(profile.slice(2, 4), 16);
    if (idc === '4d' || (idc === '42' && (constraints & 0x40) !== 0)) {
      return { mode: 'h264-passthrough', profileLevelId: profile };
    }
  }
  return { mode: 'vp8-transcode' };
}

/**
 * One RTMP publisher in the stream's room: ffmpeg reads the pushed FLV from its stdin and sends RTP (audio transcoded
 * to Opus; video passed through as H.264 or transcoded to VP8, see videoPathFor) to two PlainTransports (comedia,
 * loopback) on the room's origin router, whose producers the room adopts like the studio's. close() (idempotent)
 * stops ffmpeg, closes the transports (and so the producers) and, unless the stream itself ended, runs the
 * creator-away path.
 */
export class RtmpSession extends IngestSession {
  protected readonly protocol = 'rtmp';
  readonly video: VideoPath;
  readonly #transports: ms.PlainTransport[] = [];
  readonly #producers: ms.Producer[] = [];
  #ffmpeg: ChildProcess | undefined;
  #stderr = '';
  #bytes = 0;

  private constructor(private readonly init: RtmpSessionInit) {
    super(init);
    this.video = videoPathFor(init.h264Profile);
  }

  /** Creates the transports and producers and starts ffmpeg; on a failure ends the session (`failed`) and throws. */
  static start(init: RtmpSessionInit): Promise<RtmpSession> {
    return IngestSession.begin(new RtmpSession(init));
  }

  /** Media flows: ffmpeg runs and the encoder has pushed data. */
  get connected(): boolean {
    return !this.endReason && this.#bytes > 0;
  }

  /** The producers in the room (audio, video). */
  get producers(): readonly ms.Producer[] {
    return this.#producers;
  }

  /** Ids of the PlainTransports (tests check none is left on the router). */
  get transportIds(): string[] {
    return this.#transports.map((t) => t.id);
  }

  /** ffmpeg's pid while it runs. */
  get pid(): number | undefined {
    return this.#ffmpeg?.exitCode === null ? this.#ffmpeg.pid : undefined;
  }

  /** Feeds FLV tags (after the header written at start) to ffmpeg. */
  write(tag: Buffer): void {
    if (this.endReason) return;
    this.#bytes += tag.length;
    const stdin = this.#ffmpeg?.stdin;
    if (stdin?.writable && stdin.writableLength < 16 * 1024 * 1024) stdin.write(tag);
  }

  protected release(_reason: IngestEndReason): void {
    const ff = this.#ffmpeg;
    if (ff && ff.exitCode === null && ff.signalCode === null) {
      ff.stdin?.destroy();
      ff.kill('SIGKILL');
    }
    for (const t of this.#transports) t.close();
  }

  protected override describe(): Record<string, unknown> {
    return { video: this.video.mode };
  }

  protected async setUp(): Promise<void> {
    const { room, log } = this.init;
    const router = room.originRouter;
    const plain = async () => {
      const t = await router.createPlainTransport({
        listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
        rtcpMux: false,
        comedia: true,
      });
      this.#transports.push(t);
      t.observer.once('close', () => this.close(room.closed ? 'stream-ended' : 'failed'));
      return t;
    };
    const audio = await plain();
    const video = await plain();
    const audioSsrc = randomBytes(4).readUInt32BE() & 0x7fffffff || 1; // ffmpeg takes a signed int
    const videoSsrc = randomBytes(4).readUInt32BE() & 0x7fffffff || 2;
    const audioProducer = await audio.produce({
      kind: 'audio',
      rtpParameters: {
        codecs: [{ mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: AUDIO_PT, parameters: {} }],
        encodings: [{ ssrc: audioSsrc }],
      },
    });
    const videoCodec =
      this.video.mode === 'h264-passthrough'
        ? {
            mimeType: 'video/H264',
            clockRate: 90000,
            payloadType: VIDEO_PT,
            parameters: { 'packetization-mode': 1, 'profile-level-id': this.video.profileLevelId },
          }
        : { mimeType: 'video/VP8', clockRate: 90000, payloadType: VIDEO_PT, parameters: {} };
    const videoProducer = await video.produce({
      kind: 'video',
      rtpParameters: { codecs: [videoCodec], encodings: [{ ssrc: videoSsrc }] },
    });
    if (this.endReason) throw new Error('the session ended while starting');
    this.#producers.push(audioProducer, videoProducer);
    room.adoptProducer(audioProducer);
    room.adoptProducer(videoProducer);
    const target = (t: ms.PlainTransport, pt: number, ssrc: number) => [
      '-payload_type',
      String(pt),
      '-ssrc',
      String(ssrc),
      '-f',
      'rtp',
      `rtp://127.0.0.1:${t.tuple.localPort}?rtcpport=${t.rtcpTuple?.localPort}&pkt_size=1200`,
    ];
    const videoArgs =
      this.video.mode === 'h264-passthrough'
        ? ['-c:v', 'copy', '-bsf:v', 'h264_mp4toannexb']
        : [
            ['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '2500k', '-maxrate', '3000k'],
            ['-g', '60', '-error-resilient', '1', '-auto-alt-ref', '0', '-lag-in-frames', '0', '-threads', '2'],
          ].flat();
    const args = [
      ['-hide_banner', '-loglevel', 'error', '-fflags', '+nobuffer', '-analyzeduration', '1000000'],
      ['-f', 'flv', '-i', 'pipe:0'],
      ['-map', '0:a?', '-c:a', 'libopus', '-ar', '48000', '-ac', '2', '-b:a', '128k'],
      target(audio, AUDIO_PT, audioSsrc),
      ['-map', '0:v?', ...videoArgs],
      target(video, VIDEO_PT, videoSsrc),
    ].flat();
    const ff = spawn('ffmpeg', args, { stdio: ['pipe', 'ignore', 'pipe'] });
    this.#ffmpeg = ff;
    ff.stdin.on('error', () => {});
    ff.stderr?.setEncoding('utf8').on('data', (s: string) => {
      this.#stderr = (this.#stderr + s).slice(-2000);
    });
    ff.once('error', (err) => {
      log.error({ err, streamId: this.streamId }, 'rtmp ingest: ffmpeg could not start');
      this.close('failed');
    });
    ff.once('exit', (code, signal) => {
      if (this.endReason) return;
      log.warn({ streamId: this.streamId, code, signal, stderr: this.#stderr }, 'rtmp ingest: ffmpeg exited');
      this.close('failed');
    });
    ff.stdin.write(FLV_HEADER);
    log.info(
      { streamId: this.streamId, keyId: this.keyId, session: this.id, video: this.video, pid: ff.pid },
      'rtmp session started',
    );
  }
}
