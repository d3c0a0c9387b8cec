// A WHIP client's SDP offer turned into mediasoup producer parameters, and the SDP answer built from the transport:
// the same steps mediasoup-client takes for a browser's send transport (its ORTC matching against the router's
// capabilities and its RemoteSdp answer), with sdp-transform for the parsing. Nothing is transcoded: the router takes
// the offered codecs it supports (Opus; VP8 or H.264 packetization-mode 1) as they are.
import type { types as ms } from 'mediasoup';
import type { types as msc } from 'mediasoup-client';
import { extractDtlsParameters, extractRtpCapabilities, getCname } from 'mediasoup-client/handlers/sdp/commonUtils';
import { RemoteSdp } from 'mediasoup-client/handlers/sdp/RemoteSdp';
import { getRtpEncodings } from 'mediasoup-client/handlers/sdp/unifiedPlanUtils';
import {
  getExtendedRtpCapabilities,
  getSendingRemoteRtpParameters,
  getSendingRtpParameters,
  validateAndNormalizeRtpCapabilities,
} from 'mediasoup-client/ortc';
import { type MediaDescription, parse, type SessionDescription } from 'sdp-transform';

/** The offer cannot be used; the message says why (answered 400 with it). */
export class WhipOfferError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WhipOfferError';
  }
}

type Kind = 'audio' | 'video';

/** An offer that passed the checks: its sections (one audio and/or one video) and the client's DTLS side. */
export interface WhipOffer {
  readonly sdp: SessionDescription;
  readonly sections: readonly { kind: Kind; media: MediaDescription }[];
  /** The client's fingerprint and the role it takes (`client` unless its offer is `a=setup:passive`). */
  readonly dtlsParameters: ms.DtlsParameters;
}

/** What one offered section becomes: the producer's parameters and what the answer says back. */
export interface NegotiatedSection {
  kind: Kind;
  media: MediaDescription;
  rtpParameters: ms.RtpParameters;
  answerRtpParameters: msc.RtpParameters;
}

const codecName = (media: MediaDescription, payload: number): string | undefined =>
  media.rtp.find((r) => r.payload === payload)?.codec.toLowerCase();

/** Whether a section offers a codec the router takes without transcoding. */
function offersUsableCodec(kind: Kind, media: MediaDescription): boolean {
  const payloads = media.rtp.map((r) => r.payload);
  if (kind === 'audio') return payloads.some((p) => codecName(media, p) === 'opus');
  return payloads.some((p) => {
    const name = codecName(media, p);
    if (name === 'vp8') return true;
    if (name !== 'h264') return false;
    const fmtp = media.fmtp.find((f) => f.payload === p)?.config ?? '';
    return /(^|;)\s*packetization-mode=1\s*(;|$)/.test(fmtp);
  });
}

/**
 * Parses and checks a WHIP offer: SDP version 0, one audio and/or one video section (nothing else), each sending
 * (`sendonly` or `sendrecv`) over DTLS-SRTP with rtcp-mux, ICE credentials, SSRCs or RIDs, a codec the router takes,
 * all bundled on one transport, and a DTLS fingerprint. Throws WhipOfferError naming the first problem.
 */
export function parseWhipOffer(text: string): WhipOffer {
  if (!/^v=0\r?\n/.test(text)) throw new WhipOfferError('the body is not an SDP offer (it must start with v=0)');
  let sdp: SessionDescription;
  try {
    sdp = parse(text);
  } catch (err) {
    throw new WhipOfferError(`the SDP could not be parsed: ${(err as Error).message}`);
  }
  const media = sdp.media ?? [];
  if (media.length === 0) throw new WhipOfferError('the offer has no media section');
  if (media.length > 2) throw new WhipOfferError('the offer may have one audio and one video section, no more');
  const sections: { kind: Kind; media: MediaDescription }[] = [];
  for (const m of media) {
    if (m.type !== 'audio' && m.type !== 'video') {
      throw new WhipOfferError(`a ${m.type} section is not taken (audio and video only)`);
    }
    const kind = m.type;
    if (sections.some((s) => s.kind === kind)) throw new WhipOfferError(`the offer has more than one ${kind} section`);
    if (m.port === 0) throw new WhipOfferError(`the ${kind} section is disabled (port 0)`);
    if (!/SAVPF/.test(m.protocol)) throw new WhipOfferError(`the ${kind} section is not DTLS-SRTP (${m.protocol})`);
    const direction = m.direction ?? sdp.direction ?? 'sendrecv';
    if (direction !== 'sendonly' && direction !== 'sendrecv') {
      throw new WhipOfferError(`the ${kind} section does not send (${direction})`);
    }
    if (m.mid === undefined) throw new WhipOfferError(`the ${kind} section has no a=mid`);
    if (!(m.iceUfrag ?? sdp.iceUfrag) || !(m.icePwd ?? sdp.icePwd)) {
      throw new WhipOfferError(`the ${kind} section has no ICE credentials`);
    }
    if (!m.rtcpMux) throw new WhipOfferError(`the ${kind} section does not multiplex RTCP (a=rtcp-mux)`);
    if (!m.ssrcs?.length && !m.rids?.some((r) => r.direction === 'send')) {
      throw new WhipOfferError(`the ${kind} section names no SSRC nor RID`);
    }
    if (!offersUsableCodec(kind, m)) {
      throw new WhipOfferError(
        kind === 'audio'
          ? 'the audio section offers no Opus (set the encoder to Opus)'
          : 'the video section offers neither VP8 nor H.264 with packetization-mode=1',
      );
    }
    sections.push({ kind, media: m });
  }
  if (sections.length > 1) {
    const bundle = String(sdp.groups?.find((g) => g.type === 'BUNDLE')?.mids ?? '').split(/\s+/);
    if (!sections.every((s) => bundle.includes(String(s.media.mid)))) {
      throw new WhipOfferError('the sections must be bundled on one transport (a=group:BUNDLE)');
    }
  }
  let dtls: msc.DtlsParameters;
  try {
    dtls = extractDtlsParameters({ sdpObject: sdp });
  } catch (err) {
    throw new WhipOfferError((err as Error).message);
  }
  // actpass: the client takes the DTLS client role (as browsers do), mediasoup answers passive.
  const role = dtls.role === 'server' ? 'server' : 'client';
  return { sdp, sections, dtlsParameters: { role, fingerprints: dtls.fingerprints as ms.DtlsFingerprint[] } };
}

/**
 * Matches the offer's codecs and header extensions with the router's (the client's codec order preferred): each
 * section's producer parameters — MID, CNAME, the offered SSRCs (with RTX) or RIDs — and the answer's parameters.
 * Throws WhipOfferError when a section has nothing in common with the router.
 */
export function negotiate(offer: WhipOffer, routerCaps: ms.RtpCapabilities): NegotiatedSection[] {
  return offer.sections.map(({ kind, media }) => {
    // One section at a time: mediasoup-client reads capabilities by payload type and extension id across sections, so
    // an id that audio and video share (MID, transport-cc) would keep only the last section's kind.
    let extended: ReturnType<typeof getExtendedRtpCapabilities>;
    try {
      const native = extractRtpCapabilities({ sdpObject: { ...offer.sdp, media: [media] } });
      validateAndNormalizeRtpCapabilities(native);
      extended = getExtendedRtpCapabilities(native, routerCaps as msc.RtpCapabilities, true);
    } catch (err) {
      throw new WhipOfferError(`the offer's ${kind} codecs cannot be used: ${(err as Error).message}`);
    }
    const sending = getSendingRtpParameters(kind, extended);
    const answerRtpParameters = getSendingRemoteRtpParameters(kind, extended);
    if (sending.codecs.length === 0) throw new WhipOfferError(`no ${kind} codec of the offer is supported`);
    sending.mid = String(media.mid);
    sending.rtcp = { ...sending.rtcp, cname: getCname({ offerMediaObject: media }) || `whip-${kind}` };
    const rids = (media.rids ?? []).filter((r) => r.direction === 'send');
    try {
      sending.encodings =
        rids.length > 0 && media.simulcast
          ? rids.map((r) => ({ rid: String(r.id) }))
          : getRtpEncodings({ offerMediaObject: media, codecs: sending.codecs });
    } catch (err) {
      throw new WhipOfferError(`the ${kind} section's streams cannot be read: ${(err as Error).message}`);
    }
    return { kind, media, rtpParameters: sending as ms.RtpParameters, answerRtpParameters };
  });
}

/** The server's side of the transport, as the answer states it. */
export interface AnswerTransport {
  iceParameters: ms.IceParameters;
  iceCandidates: ms.IceCandidate[];
  dtlsParameters: ms.DtlsParameters;
}

/** The SDP answer: ICE-lite candidates and credentials of the transport, its fingerprint, each section `recvonly`. */
export function buildWhipAnswer(offer: WhipOffer, sections: NegotiatedSection[], transport: AnswerTransport): string {
  const remote = new RemoteSdp({
    iceParameters: transport.iceParameters as msc.IceParameters,
    iceCandidates: transport.iceCandidates as msc.IceCandidate[],
    dtlsParameters: { ...transport.dtlsParameters, role: 'auto' } as msc.DtlsParameters,
  });
  remote.updateDtlsRole(offer.dtlsParameters.role === 'client' ? 'server' : 'client');
  if (offer.sdp.extmapAllowMixed) remote.setSessionExtmapAllowMixed();
  for (const s of sections) {
    remote.send({
      offerMediaObject: s.media,
      offerRtpParameters: s.rtpParameters as msc.RtpParameters,
      answerRtpParameters: s.answerRtpParameters,
    });
  }
  return remote.getSdp();
}
