// Real peers for the viewer-flow tests, driven through the signaling socket as the dapp drives them: a creator
// publishing and a viewer receiving (libwebrtc in Node from sfu/test/helpers/nodeWebrtc.ts).
import { type SessionKey, signJoinProof } from '@persecond/contracts-client';
import type { Device, types } from 'mediasoup-client';
import type { Socket } from 'socket.io-client';
import { countFrames, loadDevice, type MediaKind, startTestMedia } from '../../sfu/test/helpers/nodeWebrtc.ts';

/** An ack as the server sends it. */
export interface AckJson {
  ok: boolean;
  code?: string;
  message?: string;
  details?: Record<string, string>;
  [key: string]: unknown;
}

/** The session keys of join payloads made by the fixtures, so a join is signed for the socket it is sent on. */
const joinKeys = new WeakMap<object, { key: SessionKey; genesisHash: string }>();

/** Registers the session key of a `viewer:join` session payload: `call` adds its join proof for the socket used. */
export function registerJoinKey(sessionPayload: object, key: SessionKey, genesisHash: string): void {
  joinKeys.set(sessionPayload, { key, genesisHash });
}

/**
 * A `viewer:join` payload with the session key's join proof for `socket`, as the dapp signs it per socket; a payload
 * that carries its own `proof` (e.g. a forged one) is sent as it is.
 */
function withJoinProof(socket: Socket, payload: unknown): unknown {
  const p = payload as { streamId?: string; session?: { sessionId?: string; proof?: string } };
  const known = p.session && joinKeys.get(p.session);
  if (!known || p.session?.proof !== undefined || !socket.id) return payload;
  const proof = signJoinProof(known.key, {
    genesisHash: known.genesisHash,
    streamId: p.streamId ?? '',
    sessionId: p.session?.sessionId ?? '',
    socketId: socket.id,
  });
  return { ...p, session: { ...p.session, proof } };
}

/** Emits a request and resolves with its ack (a fixture's `viewer:join` or `replay:join` is signed for this socket). */
export function call(socket: Socket, event: string, payload: unknown): Promise<AckJson> {
  const sent = event === 'viewer:join' || event === 'replay:join' ? withJoinProof(socket, payload) : payload;
  return new Promise((resolve) => socket.emit(event, sent, resolve));
}

/** Emits a request and resolves with its ack, failing unless it is ok. */
export async function callOk(socket: Socket, event: string, payload: unknown): Promise<AckJson> {
  const res = await call(socket, event, payload);
  if (!res.ok) throw new Error(`${event} refused: ${res.code} ${res.message}`);
  return res;
}

/** Loads a device for the stream's router and opens a transport of `direction` connected through `rtc:*`. */
async function openTransport(
  socket: Socket,
  streamId: string,
  direction: 'send' | 'recv',
): Promise<{ device: Device; transport: types.Transport }> {
  const caps = await callOk(socket, 'rtc:capabilities', { streamId });
  const device = await loadDevice(caps.routerRtpCapabilities);
  const { transport: params } = (await callOk(socket, 'rtc:createTransport', { streamId, direction })) as {
    transport: never;
  } & AckJson;
  const transport = direction === 'send' ? device.createSendTransport(params) : device.createRecvTransport(params);
  transport.on('connect', ({ dtlsParameters }, ok, fail) => {
    callOk(socket, 'rtc:connectTransport', { transportId: transport.id, dtlsParameters }).then(() => ok(), fail);
  });
  return { device, transport };
}

/** A creator sending a moving 320x240 VP8 picture and a 440 Hz tone into a room. */
export interface Publisher {
  producerIds: string[];
  /** Starts sending a track of `kind` it does not send yet (e.g. the microphone after the camera). */
  add(kind: MediaKind): Promise<string>;
  close(): void;
}

/** A send transport of the stream's creator, connected and producing through `rtc:*` on its socket. */
export async function openSendTransport(socket: Socket, streamId: string): Promise<types.Transport> {
  const { transport: send } = await openTransport(socket, streamId, 'send');
  send.on('produce', ({ kind, rtpParameters }, ok, fail) => {
    callOk(socket, 'rtc:produce', { transportId: send.id, kind, rtpParameters }).then(
      (res) => ok({ id: res.producerId as string }),
      fail,
    );
  });
  return send;
}

/** Publishes `kinds` through the signaling socket of the stream's creator, as the dapp's studio does. */
export async function startPublisher(
  socket: Socket,
  streamId: string,
  kinds: readonly MediaKind[] = ['video', 'audio'],
): Promise<Publisher> {
  const send = await openSendTransport(socket, streamId);
  const media = startTestMedia();
  const producerIds: string[] = [];
  const add = async (kind: MediaKind): Promise<string> => {
    const producer = await media.produce(send, kind);
    producerIds.push(producer.id);
    return producer.id;
  };
  for (const kind of kinds) await add(kind);
  return {
    producerIds,
    add,
    close() {
      send.close();
      media.stop();
    },
  };
}

/** A WebRTC viewer driven through the signaling socket; `frames` counts decoded video frames, `audioFrames` audio. */
export interface RtcViewer {
  readonly frames: number;
  readonly audioFrames: number;
  /** Kinds of the consumers it received, in order. */
  readonly kinds: readonly MediaKind[];
  close(): void;
}

/**
 * Runs the viewer side of `rtc:*` after an admitted `viewer:join` (mode webrtc). With `follow`, it consumes the
 * producers announced later by `rtc:newProducers`, as the dapp does.
 */
export async function startRtcViewer(
  socket: Socket,
  streamId: string,
  opts: { follow?: boolean } = {},
): Promise<RtcViewer> {
  const { device, transport: recv } = await openTransport(socket, streamId, 'recv');
  let frames = 0;
  let audioFrames = 0;
  const kinds: MediaKind[] = [];
  const sinks: { stop(): void }[] = [];
  let closed = false;
  const consumeAll = async (): Promise<void> => {
    const { consumers } = (await callOk(socket, 'rtc:consume', {
      transportId: recv.id,
      rtpCapabilities: device.rtpCapabilities,
    })) as { consumers: { id: string; producerId: string; kind: MediaKind; rtpParameters: never }[] } & AckJson;
    for (const c of consumers) {
      if (closed) return;
      const consumer = await recv.consume(c);
      kinds.push(c.kind);
      sinks.push(countFrames(consumer.track, c.kind, c.kind === 'video' ? () => frames++ : () => audioFrames++));
      await callOk(socket, 'rtc:resume', { consumerId: c.id });
    }
  };
  // One consume at a time: announcements that arrive together are answered by one call.
  let consuming = consumeAll();
  await consuming;
  const onNewProducers = () => {
    consuming = consuming.then(consumeAll).catch(() => undefined);
  };
  if (opts.follow) socket.on('rtc:newProducers', onNewProducers);
  return {
    get frames() {
      return frames;
    },
    get audioFrames() {
      return audioFrames;
    },
    kinds,
    close() {
      closed = true;
      socket.off('rtc:newProducers', onNewProducers);
      for (const s of sinks) s.stop();
      recv.close();
    },
  };
}
