import type { types } from 'mediasoup';
import type { SfuConfig } from '../config.ts';
import { SfuBadRequestError } from '../errors.ts';

/** What a client needs to create its side of a WebRTC transport (mediasoup-client `createSend/RecvTransport`). */
export interface TransportParams {
  id: string;
  iceParameters: types.IceParameters;
  iceCandidates: types.IceCandidate[];
  dtlsParameters: types.DtlsParameters;
}

/** Where a room's WebRTC transports listen. */
export type TransportListen = Pick<SfuConfig, 'listenIp' | 'announcedIp' | 'rtcMinPort' | 'rtcMaxPort'>;

/** A WebRTC transport on `router` listening on UDP (preferred) and TCP. */
export function createWebRtcTransport(
  router: types.Router,
  listen: TransportListen,
  appData: Record<string, unknown>,
): Promise<types.WebRtcTransport> {
  const { listenIp, announcedIp, rtcMinPort, rtcMaxPort } = listen;
  const base = { ip: listenIp, announcedAddress: announcedIp, portRange: { min: rtcMinPort, max: rtcMaxPort } };
  return router.createWebRtcTransport({
    listenInfos: [
      { protocol: 'udp', ...base },
      { protocol: 'tcp', ...base },
    ],
    enableUdp: true,
    enableTcp: true,
    preferUdp: true,
    initialAvailableOutgoingBitrate: 1_000_000,
    appData,
  });
}

/** The client's half of a transport's parameters. */
export function transportParams(t: types.WebRtcTransport): TransportParams {
  return { id: t.id, iceParameters: t.iceParameters, iceCandidates: t.iceCandidates, dtlsParameters: t.dtlsParameters };
}

/** mediasoup reports unusable client parameters as TypeError / UnsupportedError: those are the caller's fault. */
export async function wrapBadRequest<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const name = (err as Error).name;
    if (name === 'TypeError' || name === 'UnsupportedError') {
      throw new SfuBadRequestError((err as Error).message, { cause: err });
    }
    throw err;
  }
}
