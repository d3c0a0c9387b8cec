import type { types } from 'mediasoup';

/** One RTP stream ffmpeg should receive. */
export interface SdpMedia {
  kind: types.MediaKind;
  port: number;
  rtpParameters: types.RtpParameters;
}

/** An SDP offer describing plain RTP streams arriving at `ip` (RTCP on port + 1), as ffmpeg's sdp demuxer reads it. */
export function buildRecvSdp(ip: string, media: SdpMedia[]): string {
  const family = ip.includes(':') ? 'IP6' : 'IP4';
  const lines = ['v=0', `o=- 0 0 IN ${family} ${ip}`, 's=persecond', `c=IN ${family} ${ip}`, 't=0 0'];
  for (const m of media) {
    const codec = m.rtpParameters.codecs[0];
    if (!codec) throw new Error(`no codec for ${m.kind}`);
    const name = codec.mimeType.split('/')[1];
    const channels = codec.channels && codec.channels > 1 ? `/${codec.channels}` : '';
    lines.push(`m=${m.kind} ${m.port} RTP/AVP ${codec.payloadType}`);
    lines.push(`a=rtpmap:${codec.payloadType} ${name}/${codec.clockRate}${channels}`);
    const fmtp = Object.entries(codec.parameters ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(';');
    if (fmtp) lines.push(`a=fmtp:${codec.payloadType} ${fmtp}`);
    lines.push(`a=rtcp:${m.port + 1}`, 'a=recvonly');
  }
  return `${lines.join('\r\n')}\r\n`;
}

/**
 * ffmpeg input arguments for RTP over UDP from mediasoup, described by the SDP written to its stdin (`buildRecvSdp`);
 * `inputOptions` (e.g. decoder options) go right before the input.
 */
export function sdpInputArgs(inputOptions: string[] = []): string[] {
  return [
    '-protocol_whitelist',
    'pipe,udp,rtp',
    '-fflags',
    '+genpts+discardcorrupt',
    '-analyzeduration',
    '2000000',
    '-probesize',
    '5000000',
    '-reorder_queue_size',
    '128',
    ...inputOptions,
    '-f',
    'sdp',
    '-i',
    'pipe:0',
  ];
}
