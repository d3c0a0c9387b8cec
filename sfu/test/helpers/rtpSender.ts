// A creator that is an ffmpeg: a lavfi picture encoded to VP8 and sent as RTP into a PlainTransport producer the room
// adopts (as an RTMP ingest does). Its keyframes come on its own schedule (one a second), not on request.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { once } from 'node:events';
import type { Room } from '../../src/index.ts';

const PAYLOAD_TYPE = 101;

/** The sender's producer and process; `close()` stops ffmpeg and closes the transport (so the producer). */
export interface RtpSender {
  producerId: string;
  /** Packets the producer received so far (mediasoup's count). */
  packets(): Promise<number>;
  close(): Promise<void>;
}

/** Starts sending `source` (a lavfi video source, e.g. `color=c=red:size=320x240:rate=15`) at its own pace. */
export async function startRtpSender(room: Room, source: string): Promise<RtpSender> {
  const transport = await room.originRouter.createPlainTransport({
    listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
    rtcpMux: false,
    comedia: true,
    appData: { role: 'test-sender' },
  });
  // ffmpeg takes a signed 32-bit ssrc.
  const ssrc = randomInt(1, 0x7fffffff);
  const producer = await transport.produce({
    kind: 'video',
    rtpParameters: {
      codecs: [{ mimeType: 'video/VP8', clockRate: 90000, payloadType: PAYLOAD_TYPE, parameters: {} }],
      encodings: [{ ssrc }],
    },
  });
  room.adoptProducer(producer);
  const { tuple, rtcpTuple } = transport;
  const target = `rtp://127.0.0.1:${tuple.localPort}?rtcpport=${rtcpTuple?.localPort}&pkt_size=1200`;
  const args = [
    ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', source],
    ['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '300k', '-g', '15', '-threads', '1'],
    ['-error-resilient', '1', '-auto-alt-ref', '0', '-lag-in-frames', '0'],
    ['-payload_type', String(PAYLOAD_TYPE), '-ssrc', String(ssrc), '-f', 'rtp', target],
  ].flat();
  const ff: ChildProcess = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = once(ff, 'exit').catch(() => undefined);
  let closing: Promise<void> | undefined;
  return {
    producerId: producer.id,
    packets: async () => (await producer.getStats()).reduce((n, s) => n + s.packetCount, 0),
    close() {
      closing ??= (async () => {
        if (ff.exitCode === null && ff.signalCode === null) {
          ff.kill('SIGKILL');
          await exited;
        }
        transport.close();
      })();
      return closing;
    },
  };
}
