// Sends the creator's camera and microphone to the SFU over WebRTC (mediasoup-client).

import type { IceServerInfo, MediaSource as ProducerSource, TransportInfo } from '@persecond/signaling/protocol';
import type { Device, Producer, RtpCapabilities, Transport, TransportOptions } from 'mediasoup-client/types';
import { UserFacingError } from '../errors.ts';
import { request, type SignalingSocket } from '../signaling/socket.ts';
import { keepLayerSizes, videoEncodings } from './simulcast.ts';

/**
 * Builds mediasoup-client transport options from the server's description; `iceServers` (the node's TURN servers
 * with fresh credentials) let the browser relay when UDP to the SFU is blocked (`iceTransportPolicy` stays `all`).
 */
export function transportOptions(t: TransportInfo, iceServers?: IceServerInfo[]): TransportOptions {
  return {
    id: t.id,
    iceParameters: t.iceParameters as TransportOptions['iceParameters'],
    iceCandidates: t.iceCandidates as TransportOptions['iceCandidates'],
    dtlsParameters: t.dtlsParameters as TransportOptions['dtlsParameters'],
    ...(iceServers?.length ? { iceServers } : {}),
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

/** The creator's choices sent with `stream:goLive`: record the stream (default: the node's), the replay's price. */
export interface GoLiveChoices {
  record?: boolean;
  /** Planck per second of the replay (default: the live price). */
  replayPricePerSecond?: bigint;
}

/** `stream:goLive`, asked again while the server has not yet seen the announcement in a block. */
async function goLive(
  socket: SignalingSocket,
  streamId: string,
  waitMs: number,
  choices: GoLiveChoices,
): Promise<void> {
  const deadline = Date.now() + waitMs;
  const { record, replayPricePerSecond: replay } = choices;
  const payload = {
    streamId,
    ...(record === undefined ? {} : { record }),
    ...(replay === undefined ? {} : { replayPricePerSecond: replay.toString() }),
  };
  for (;;) {
    try {
      await request(socket, 'stream:goLive', payload);
      return;
    } catch (err) {
      const notYet =
        err instanceof UserFacingError && err.code === 'STREAM_NOT_LIVE' && err.details?.reason === 'not-announced';
      if (!notYet || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, ANNOUNCE_POLL_MS));
    }
  }
}

/**
 * Opens a send transport on the stream's room (the creator's, or a co-host's or guest's on stage). Each producer's
 * `appData.source` (camera, microphone, screen) goes to the server with it; none: the server's default for its kind.
 */
export async function openSendTransport(socket: SignalingSocket, streamId: string, device: Device): Promise<Transport> {
  const { transport: info, iceServers } = await request(socket, 'rtc:createTransport', { streamId, direction: 'send' });
  const transport = device.createSendTransport(transportOptions(info, iceServers));
  transport.on('connect', ({ dtlsParameters }, done, fail) => {
    request(socket, 'rtc:connectTransport', {
      transportId: transport.id,
      dtlsParameters: { ...dtlsParameters },
    }).then(() => done(), fail);
  });
  transport.on('produce', ({ kind, rtpParameters, appData }, done, fail) => {
    const source = appData.source as ProducerSource | undefined;
    request(socket, 'rtc:produce', {
      transportId: transport.id,
      kind,
      rtpParameters: { ...rtpParameters },
      ...(source ? { source } : {}),
    }).then(({ producerId }) => done({ id: producerId }), fail);
  });
  return transport;
}

/**
 * Produces a track: a camera in simulcast where the browser can, else (or if that is refused) as one layer; a screen
 * (`source: 'screen'`) always as one layer.
 */
export async function produceTrack(
  transport: Transport,
  device: Device,
  track: MediaStreamTrack,
  source?: ProducerSource,
): Promise<Producer> {
  const appData = source ? { source } : {};
  const encodings = track.kind === 'video' && source !== 'screen' ? videoEncodings(device) : undefined;
  if (encodings) {
    try {
      const producer = await transport.produce({ track, encodings, appData });
      await keepLayerSizes(producer);
      return producer;
    } catch (err) {
      if (err instanceof UserFacingError) throw err;
    }
  }
  return transport.produce({ track, appData });
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
   * Waits up to `announceWaitMs` for the server to see a just-made announcement on chain. `choices`: recording and
   * the replay's price.
   */
  static async start(
    socket: SignalingSocket,
    streamId: string,
    media: MediaStream,
    announceWaitMs = 30_000,
    choices: GoLiveChoices = {},
  ): Promise<Publisher> {
    await goLive(socket, streamId, announceWaitMs, choices);
    const device = await loadDevice(socket, streamId);
    const transport = await openSendTransport(socket, streamId, device);
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
