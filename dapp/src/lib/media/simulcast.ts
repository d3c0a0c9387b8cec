// The studio's simulcast: the camera goes out as three VP8 encodings (a quarter, half and the full picture), so the
// SFU can forward each WebRTC viewer the layer its downlink allows, or the one it picked (Auto/High/Medium/Low).
import type { Device, Producer, RtpEncodingParameters } from 'mediasoup-client/types';

/** Lowest layer first, as mediasoup numbers spatial layers (0 = low, 2 = high). */
export const SIMULCAST_ENCODINGS: readonly RtpEncodingParameters[] = [
  { rid: 'r0', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: 'r1', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: 'r2', scaleResolutionDownBy: 1, maxBitrate: 2_000_000 },
];

/**
 * The encodings to send the camera with: simulcast when the device can send VP8 (the browser's sender then drops
 * layers a small camera picture cannot fill), else undefined (one layer).
 */
export function videoEncodings(device: Device): RtpEncodingParameters[] | undefined {
  const vp8 = device.rtpCapabilities.codecs?.some((c) => c.mimeType.toLowerCase() === 'video/vp8');
  return vp8 && device.canProduce('video') ? SIMULCAST_ENCODINGS.map((e) => ({ ...e })) : undefined;
}

/**
 * Asks the browser to keep every layer's size when the studio's CPU is short, dropping frames instead. Why: under
 * 'balanced' Chromium scales the camera down and then stops sending the layers its legacy per-resolution limit no
 * longer allows, so on a busy machine the viewers' Low/Medium/High collapse into one small picture (a broadcast, like
 * OBS, keeps its resolution). A browser that refuses the parameter keeps its default.
 */
export async function keepLayerSizes(producer: Producer): Promise<void> {
  const sender = producer.rtpSender;
  if (!sender) return;
  const params = sender.getParameters();
  params.degradationPreference = 'maintain-resolution';
  await sender.setParameters(params).catch(() => undefined);
}
