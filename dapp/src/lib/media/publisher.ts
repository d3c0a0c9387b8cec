// Sends the creator's camera and microphone to the SFU over WebRTC (mediasoup-client).

import type { TransportInfo } from '@persecond/signaling/protocol';
import type { Device, Producer, RtpCapabilities, Transport, TransportOptions } from 'mediasoup-client/types';
import { UserFacingError } from '../errors.ts';
import { request, type SignalingSocket } from '../signaling/socket.ts';
import { keepLayerSizes, videoEncodings } from './simulcast.ts';

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
      const producer = await transport.produce({ track, encodings });
      await keepLayerSizes(producer);
      return producer;
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
    private readonly socket: SignalingSocket,
    private readonly streamId: string,
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
    return new Publisher(socket, streamId, transport, producers);
  }

  /** Whether this publisher sends a track of `kind`. */
  sends(kind: 'audio' | 'video'): boolean {
    return this.#producer(kind) !== undefined;
  }

  /** Whether `kind` is paused (microphone muted, camera off). */
  paused(kind: 'audio' | 'video'): boolean {
    return this.#producer(kind)?.paused === true;
  }

  /**
   * Mutes or unmutes `kind`. The server pauses the producer: viewers keep their consumer and track (nothing to
   * renegotiate) and get no media of that kind; mediasoup-client's pause also disables the local track.
   */
  async setPaused(kind: 'audio' | 'video', paused: boolean): Promise<void> {
    const producer = this.#producer(kind);
    if (!producer || producer.paused === paused) return;
    const flip = (to: boolean) => (to ? producer.pause() : producer.resume());
    // Locally first: a mute silences at once, before the server has answered.
    flip(paused);
    try {
      await request(this.socket, 'rtc:setProducerPaused', { streamId: this.streamId, producerId: producer.id, paused });
    } catch (err) {
      flip(!paused);
      throw err;
    }
  }

  /**
   * Sends `track` (another camera or microphone) in place of the current one of its kind, on the same producer:
   * viewers keep receiving without a renegotiation. The replaced track is stopped; a paused producer stays paused.
   */
  async replaceTrack(track: MediaStreamTrack): Promise<void> {
    const producer = this.#producer(track.kind === 'audio' ? 'audio' : 'video');
    if (!producer) throw new Error(`not sending ${track.kind}`);
    await producer.replaceTrack({ track });
  }

  /** The send transport's WebRTC statistics (one outbound-rtp per audio track and simulcast layer). */
  stats(): Promise<RTCStatsReport> {
    return this.transport.getStats();
  }

  #producer(kind: 'audio' | 'video'): Producer | undefined {
    return this.producers.find((p) => p.kind === kind && !p.closed);
  }

  /** Stops sending; safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of this.producers) p.close();
    this.transport.close();
  }
}
