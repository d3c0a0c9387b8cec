// What the creator sends right now, from the send transport's WebRTC statistics: the picture's size and frame rate
// (its largest simulcast layer) and the bitrate of everything sent (every layer and the audio) between two samples.

/** One reading of the send transport's statistics. */
export interface SendSample {
  /** Milliseconds (the stats' own clock). */
  at: number;
  /** Bytes sent so far over every outbound RTP stream. */
  bytesSent: number;
  /** The largest video layer being sent, if any. */
  video?: { width: number; height: number; fps: number };
}

/** What the studio shows of the outgoing media. */
export interface SendFigures {
  /** Bits per second between the two samples. */
  bitrate: number;
  video?: { width: number; height: number; fps: number };
}

/** The fields read of a stats entry (`RTCOutboundRtpStreamStats` for the ones that count). */
export interface StatsEntry {
  type: string;
  kind?: string;
  timestamp?: number;
  bytesSent?: number;
  frameWidth?: number;
  frameHeight?: number;
  framesPerSecond?: number;
  active?: boolean;
}

/** Reads a sample from the entries of the send transport's `RTCPeerConnection.getStats()` report. */
export function sendSample(entries: Iterable<StatsEntry>): SendSample {
  let at = 0;
  let bytesSent = 0;
  let video: SendSample['video'];
  for (const s of entries) {
    if (s.type !== 'outbound-rtp') continue;
    at = Math.max(at, s.timestamp ?? 0);
    bytesSent += s.bytesSent ?? 0;
    // A layer the encoder dropped (bandwidth, CPU) keeps its last size: only active layers count.
    if (s.kind !== 'video' || s.active === false || !s.frameWidth || !s.frameHeight) continue;
    if (!video || s.frameWidth * s.frameHeight > video.width * video.height)
      video = { width: s.frameWidth, height: s.frameHeight, fps: Math.round(s.framesPerSecond ?? 0) };
  }
  return { at, bytesSent, video };
}

/** The figures between two samples, `prev` the earlier; undefined when they cover no time. */
export function sendFigures(prev: SendSample, next: SendSample): SendFigures | undefined {
  const seconds = (next.at - prev.at) / 1000;
  if (seconds <= 0) return undefined;
  // A replaced track or a new layer can restart a counter: never a negative rate.
  const bitrate = Math.max(0, ((next.bytesSent - prev.bytesSent) * 8) / seconds);
  return { bitrate, video: next.video };
}

/** `2.4 Mbit/s`, `96 kbit/s`. */
export function formatBitrate(bitsPerSecond: number): string {
  if (bitsPerSecond >= 1_000_000) return `${(bitsPerSecond / 1_000_000).toFixed(1)} Mbit/s`;
  return `${Math.round(bitsPerSecond / 1000)} kbit/s`;
}
