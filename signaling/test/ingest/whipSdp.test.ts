// A WHIP offer as OBS sends it (H.264 + Opus, ICE and DTLS at session level, no header extensions) through the parsing,
// the matching against router capabilities (mediasoup-client's fake router) and the answer; the offers refused.
import { generateRouterRtpCapabilities } from 'mediasoup-client/fakeParameters';
import { parse } from 'sdp-transform';
import { describe, expect, it } from 'vitest';
import { buildWhipAnswer, negotiate, parseWhipOffer, WhipOfferError } from '../../src/ingest/whipSdp.ts';

const FINGERPRINT = Array.from({ length: 32 }, (_, i) => (i * 7).toString(16).padStart(2, '0').toUpperCase()).join(':');

/** An offer shaped as OBS 30's WHIP output (libdatachannel) writes it. */
function obsOffer(
  opts: { setup?: string; video?: string[]; audio?: string[]; bundle?: string; extra?: string } = {},
): string {
  const lines = [
    'v=0',
    'o=rtc 3767197920 0 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    `a=group:BUNDLE ${opts.bundle ?? '0 1'}`,
    'a=msid-semantic:WMS *',
    `a=setup:${opts.setup ?? 'actpass'}`,
    'a=ice-ufrag:Rk7b',
    'a=ice-pwd:0E1yY8vb2cTgjwYs7N2bHi5p',
    'a=ice-options:ice2,trickle',
    `a=fingerprint:sha-256 ${FINGERPRINT}`,
    'm=audio 9 UDP/TLS/RTP/SAVPF 111',
    'c=IN IP4 0.0.0.0',
    'a=mid:0',
    'a=sendonly',
    'a=ssrc:1111 cname:obs-cname',
    'a=rtcp-mux',
    ...(opts.audio ?? [
      'a=rtpmap:111 opus/48000/2',
      'a=fmtp:111 minptime=10;maxaveragebitrate=96000;stereo=1;sprop-stereo=1;useinbandfec=1',
    ]),
    'm=video 9 UDP/TLS/RTP/SAVPF 96',
    'c=IN IP4 0.0.0.0',
    'a=mid:1',
    'a=sendonly',
    'a=ssrc:2222 cname:obs-cname',
    'a=rtcp-mux',
    ...(opts.video ?? [
      'a=rtpmap:96 H264/90000',
      'a=rtcp-fb:96 nack',
      'a=rtcp-fb:96 nack pli',
      'a=fmtp:96 profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1',
    ]),
    ...(opts.extra ? [opts.extra] : []),
  ];
  return `${lines.join('\r\n')}\r\n`;
}

const transport = {
  iceParameters: { usernameFragment: 'srv-ufrag-0001', password: 'srv-password-000000000001', iceLite: true },
  iceCandidates: [
    {
      foundation: 'udpcandidate',
      priority: 1076302079,
      address: '127.0.0.1',
      protocol: 'udp',
      port: 40000,
      type: 'host',
    },
  ],
  dtlsParameters: { role: 'auto', fingerprints: [{ algorithm: 'sha-256', value: FINGERPRINT }] },
} as never;

const refusal = (sdp: string): string => {
  try {
    parseWhipOffer(sdp);
  } catch (err) {
    expect(err).toBeInstanceOf(WhipOfferError);
    return (err as Error).message;
  }
  throw new Error('the offer was taken');
};

describe('WHIP offers and answers', () => {
  const routerCaps = structuredClone(generateRouterRtpCapabilities()) as never;

  it('takes an OBS offer: H.264 and Opus as offered, its SSRCs and MIDs, and answers passive, recvonly, ICE-lite', () => {
    const offer = parseWhipOffer(obsOffer());
    expect(offer.dtlsParameters).toEqual({
      role: 'client',
      fingerprints: [{ algorithm: 'sha-256', value: FINGERPRINT }],
    });
    const [audio, video] = negotiate(offer, routerCaps);
    expect(audio?.kind).toBe('audio');
    expect(audio?.rtpParameters).toMatchObject({
      mid: '0',
      codecs: [{ mimeType: 'audio/opus', payloadType: 111 }],
      encodings: [{ ssrc: 1111 }],
      rtcp: { cname: 'obs-cname' },
    });
    expect(video?.rtpParameters).toMatchObject({
      mid: '1',
      codecs: [{ mimeType: 'video/H264', payloadType: 96, parameters: { 'packetization-mode': 1 } }],
      encodings: [{ ssrc: 2222 }],
    });

    const answer = parse(buildWhipAnswer(offer, [audio, video] as never, transport));
    expect(answer.icelite).toBe('ice-lite');
    expect(answer.groups).toEqual([{ type: 'BUNDLE', mids: '0 1' }]);
    expect(answer.media.map((m) => [m.type, String(m.mid), m.direction, m.setup, String(m.payloads)])).toEqual([
      ['audio', '0', 'recvonly', 'passive', '111'],
      ['video', '1', 'recvonly', 'passive', '96'],
    ]);
    expect(answer.media[1]?.rtp).toEqual([{ payload: 96, codec: 'H264', rate: 90000 }]);
    expect(answer.media[0]?.candidates?.[0]).toMatchObject({ ip: '127.0.0.1', port: 40000, transport: 'udp' });
    expect(answer.media[0]?.iceUfrag).toBe('srv-ufrag-0001');
  });

  it('answers active to an offer that asks to be the DTLS server', () => {
    const offer = parseWhipOffer(obsOffer({ setup: 'passive' }));
    expect(offer.dtlsParameters.role).toBe('server');
    const answer = parse(buildWhipAnswer(offer, negotiate(offer, routerCaps), transport));
    expect(answer.media.map((m) => m.setup)).toEqual(['active', 'active']);
  });

  it('refuses offers it cannot take, saying why', () => {
    expect(refusal('')).toMatch(/not an SDP offer/);
    expect(refusal(obsOffer({ extra: 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel' }))).toMatch(/one audio/);
    expect(refusal(obsOffer({ audio: ['a=rtpmap:0 PCMU/8000'] }).replace('SAVPF 111', 'SAVPF 0'))).toMatch(/Opus/);
    const pm0 = ['a=rtpmap:96 H264/90000', 'a=fmtp:96 profile-level-id=42e01f;packetization-mode=0'];
    expect(refusal(obsOffer({ video: pm0 }))).toMatch(/packetization-mode=1/);
    expect(refusal(obsOffer({ bundle: '0' }))).toMatch(/BUNDLE/);
    expect(refusal(obsOffer().replace(/a=fingerprint:.*\r\n/, ''))).toMatch(/fingerprint/);
    expect(refusal(obsOffer().replace('a=ssrc:2222 cname:obs-cname\r\n', ''))).toBe(
      'the video section names no SSRC nor RID',
    );
    expect(refusal(obsOffer().replace('a=ice-pwd:0E1yY8vb2cTgjwYs7N2bHi5p\r\n', ''))).toMatch(/ICE credentials/);
    expect(refusal(obsOffer().replaceAll('a=rtcp-mux\r\n', ''))).toMatch(/rtcp-mux/);
    expect(refusal(obsOffer().replace('m=video 9 UDP/TLS/RTP/SAVPF', 'm=video 9 RTP/AVP'))).toMatch(/DTLS-SRTP/);
  });
});
