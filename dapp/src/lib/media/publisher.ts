// Sends the creator's camera and microphone to the SFU over WebRTC (mediasoup-client).

import type { TransportInfo } from '@persecond/signaling/protocol';
import type { Device, Producer, RtpCapabilities, Transport, TransportOptions } from 'mediasoup-client/types';
import { UserFacingError } from '../errors.ts';
import { request, type SignalingSocket } from '../signaling/socket.ts';
import { videoEncodings } from './simulcast.ts';

/** Builds mediasoup-client transport options from the server's description. */
export function transportOptions(t: TransportInfo): TransportOptions {
  return {
    id: t.id,
    iceParameters: t.iceParameters as TransportOptions['iceParameters'],
    iceCandidates: t.iceCandidates as TransportOptions['iceCandidates'],
    dtlsParameters: t.dtlsParameters as TransportOptions['dtlsParameters'],
  };
}

/** Loads a mediasoup-client device with the stream router's capabilities. */
export async function loadDevice(socket: SignalingSocket, streamId: string): Promise<Device> {
  const { Device } = await import('mediasoup-client');
  const { routerRtpCapabilities } = await request(socket, 'rtc:capabilities', { streamId });
  const device = new Device();
  await device.load({ routerRtpCapabilities: routerRtpCapabilities as RtpCapabilities });
  return device;
}

const ANNOUNCE_POLL_MS = 1_000;

/** `stream:goLive`, asked again while the server has not yet seen the announcement in a block. */
async function goLive(socket: SignalingSocket, streamId: string, waitMs: number): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      await request(socket, 'stream:goLive', { streamId });
      return;
    } catch (err) {
      const notYet =
        err instanceof UserFacingError && err.code === 'STREAM_NOT_LIVE' && err.details?.reason === 'not-announced';
      if (!notYet || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, ANNOUNCE_POLL_MS));
    }
  }
}

/** Produces a track: the camera in simulcast where the browser can, else (or if that is refused) as one layer. */
async function produceTrack(transport: Transport, device: Device, track: MediaStreamTrack): Promise<Producer> {
  const encodings = track.kind === 'video' ? videoEncodings(device) : undefined;
  if (encodings) {
    try {
      return await transport.produce({ track, encodings });
    } catch (err) {
      if (err instanceof UserFacingError) throw err;
    }
  }
  return transport.produce({ track });
}

/** The creator's outgoing media for one stream. */
export class Publisher {
  #closed = false;

  private constructor(
    private readonly transport: Transport,
    private readonly producers: Producer[],
  ) {}

  /**
   * Goes live (the server opens the stream's room), then produces every track of `media` on a new send transport.
   * Waits up to `announceWaitMs` for the server to see a just-made announcement on chain.
   */
  static async start(
    socket: SignalingSocket,
    streamId: string,
    media: MediaStream,
    announceWaitMs = 30_000,
  ): Promise<Publisher> {
    await goLive(socket, streamId, announceWaitMs);
    const device = await loadDevice(socket, streamId);
    const { transport: info } = await request(socket, 'rtc:createTransport', { streamId, direction: 'send' });
    const transport = device.createSendTransport(transportOptions(info));
    transport.on('connect', ({ dtlsParameters }, done, fail) => {
      request(socket, 'rtc:connectTransport', {
        transportId: transport.id,
        dtlsParameters: { ...dtlsParameters },
      }).then(() => done(), fail);
    });
    transport.on('produce', ({ kind, rtpParameters }, done, fail) => {
      request(socket, 'rtc:produce', { transportId: transport.id, kind, rtpParameters: { ...rtpParameters } }).then(
        ({ producerId }) => done({ id: producerId }),
        fail,
      );
    });
    const producers: Producer[] = [];
    try {
      for (const track of media.getTracks()) producers.push(await produceTrack(transport, device, track));
    } catch (err) {
      transport.close();
      throw err;
    }
    return new Publisher(transport, producers);
  }

  /** Sending statistics of the video producer (bytes over all simulcast layers, camera frames encoded). */
  async videoStats(): Promise<{ bytesSent: number; framesEncoded: number }> {
    const video = this.producers.find((p) => p.kind === 'video');
    let bytesSent = 0;
    let framesEncoded = 0;
    for (const s of (await video?.getStats())?.values() ?? []) {
      if (s.type === 'outbound-rtp') {
        bytesSent += s.bytesSent ?? 0;
        // One outbound-rtp per simulcast layer, each encoding the same camera frames: count them once.
        framesEncoded = Math.max(framesEncoded, s.framesEncoded ?? 0);
      }
    }
    return { bytesSent, framesEncoded };
  }

  /** Stops sending; safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of this.producers) p.close();
    this.transport.close();
  }
}
