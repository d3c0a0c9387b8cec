import type { types } from 'mediasoup';
import type { SdpMedia } from './sdp.ts';
import { findFreeUdpPortPair } from './udpPorts.ts';

/** Loopback address the RTP to ffmpeg travels on. */
export const RTP_IP = '127.0.0.1';

/** One producer's RTP on its way to ffmpeg: a PlainTransport, its paused consumer, and its media line for the SDP. */
export interface RtpFeed {
  transport: types.PlainTransport;
  consumer: types.Consumer;
  media: SdpMedia;
}

/** Options of `openRtpFeed`. */
export interface RtpFeedOptions {
  /** `appData.role` of the transport ('hls', 'thumbnail'): tests and dumps tell the feeds apart by it. */
  role: string;
  /** The simulcast layers to forward (mediasoup's default: the highest). */
  preferredLayers?: types.ConsumerLayers;
  /** The RTP port ffmpeg listens on (RTCP on port + 1), when the caller reserved it (`findFreeUdpPortPairs`). */
  port?: number;
}

/**
 * Opens a PlainTransport on `router` sending a paused consumer of `producerId` to a free loopback port pair, where
 * ffmpeg is to listen (RTCP on port + 1). No RTX and no header extensions: ffmpeg reads plain RTP. The caller resumes
 * the consumer once ffmpeg runs and closes the transport; after a failure nothing is left open.
 */
export async function openRtpFeed(router: types.Router, producerId: string, opts: RtpFeedOptions): Promise<RtpFeed> {
  const port = opts.port ?? (await findFreeUdpPortPair(RTP_IP));
  const transport = await router.createPlainTransport({
    listenInfo: { protocol: 'udp', ip: RTP_IP },
    rtcpMux: false,
    comedia: false,
    appData: { role: opts.role },
  });
  try {
    await transport.connect({ ip: RTP_IP, port, rtcpPort: port + 1 });
    const rtpCapabilities: types.RtpCapabilities = {
      codecs: (router.rtpCapabilities.codecs ?? []).filter((c) => c.mimeType.toLowerCase() !== 'video/rtx'),
      headerExtensions: [],
    };
    const consumer = await transport.consume({
      producerId,
      rtpCapabilities,
      paused: true,
      ...(opts.preferredLayers ? { preferredLayers: opts.preferredLayers } : {}),
    });
    return { transport, consumer, media: { kind: consumer.kind, port, rtpParameters: consumer.rtpParameters } };
  } catch (err) {
    transport.close();
    throw err;
  }
}
