// Stage participants for the benches: a pre-encoded camera clip (VP8 + Opus) sent by ffmpeg with stream copy into
// PlainTransport producers the room adopts as a participant's, so the senders cost next to nothing and the CPU measured
// is the relay's and the worker's.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Room } from '@persecond/sfu';

const run = promisify(execFile);
const VIDEO_PT = 101;
const AUDIO_PT = 100;

/** A camera-like clip: testsrc2 with temporal noise (sensor-like, so the decoder works as on a real camera). */
export async function encodeCameraClip(
  dir: string,
  size: '1280x720' | '640x360',
  kbps: number,
  seconds: number,
): Promise<string> {
  const clip = join(dir, `camera-${size}-${kbps}k.webm`);
  await run('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-f', 'lavfi'],
    ...['-i', `testsrc2=size=${size}:rate=30:duration=${seconds},noise=alls=6:allf=t+u`],
    ...['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`],
    // A keyframe a second: PlainTransport producers cannot answer the relay's keyframe requests.
    ...['-c:v', 'libvpx', '-b:v', `${kbps}k`, '-g', '30', '-deadline', 'realtime', '-cpu-used', '8'],
    ...['-c:a', 'libopus', '-b:a', '64k', '-ac', '2', clip],
  ]);
  return clip;
}

/** One participant sending the clip in a loop, in real time; `close()` stops ffmpeg and closes the transports. */
export interface ClipSender {
  participantId: string;
  videoProducerId: string;
  audioProducerId: string;
  /** Bytes the video producer has received (mediasoup's count). */
  videoBytes(): Promise<number>;
  close(): void;
}

let nextSsrc = 10_000_000;

/** Starts `participantId` sending `clip` (camera and microphone) into `room`. */
export async function startClipSender(room: Room, participantId: string, clip: string): Promise<ClipSender> {
  const listenInfo = { protocol: 'udp' as const, ip: '127.0.0.1' };
  const router = room.originRouter;
  const vIn = await router.createPlainTransport({ listenInfo, rtcpMux: true, comedia: true });
  const aIn = await router.createPlainTransport({ listenInfo, rtcpMux: true, comedia: true });
  const vSsrc = nextSsrc++;
  const aSsrc = nextSsrc++;
  const video = await vIn.produce({
    kind: 'video',
    rtpParameters: {
      codecs: [{ mimeType: 'video/VP8', clockRate: 90000, payloadType: VIDEO_PT }],
      encodings: [{ ssrc: vSsrc }],
    },
    appData: { source: 'camera' },
  });
  const audio = await aIn.produce({
    kind: 'audio',
    rtpParameters: {
      codecs: [{ mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: AUDIO_PT }],
      encodings: [{ ssrc: aSsrc }],
    },
    appData: { source: 'microphone' },
  });
  room.adoptProducer(video, participantId);
  room.adoptProducer(audio, participantId);
  const rtp = (port: number) => `rtp://127.0.0.1:${port}?pkt_size=1200`;
  const ff: ChildProcess = spawn(
    'ffmpeg',
    [
      ...['-hide_banner', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', clip],
      ...['-map', '0:v', '-c', 'copy', '-f', 'rtp', '-ssrc', String(vSsrc), '-payload_type', String(VIDEO_PT)],
      rtp(vIn.tuple.localPort),
      ...['-map', '0:a', '-c', 'copy', '-f', 'rtp', '-ssrc', String(aSsrc), '-payload_type', String(AUDIO_PT)],
      rtp(aIn.tuple.localPort),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  return {
    participantId,
    videoProducerId: video.id,
    audioProducerId: audio.id,
    videoBytes: async () => (await video.getStats()).reduce((n, st) => n + st.byteCount, 0),
    close() {
      ff.kill('SIGKILL');
      vIn.close();
      aIn.close();
    },
  };
}
