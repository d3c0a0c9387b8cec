import type { Room } from '@persecond/sfu';
import { sameAccount } from '../accounts.ts';
import { SignalingError } from '../errors.ts';
import type { RequestHandler, SignalingSocket } from '../RequestRouter.ts';
import type { SignalingModule, SignalingModuleFactory } from '../SignalingContext.ts';
import { sfuCall } from '../sfuErrors.ts';
import { getStreamsModule } from '../streams/StreamsModule.ts';
import { loadPublishingConfig, type PublishingConfig } from './config.ts';
import { ProducerLimit } from './ProducerLimit.ts';

/** The creator's side of `rtc:*`, answered through the `rtc` module (the one owner of those requests). */
export interface CreatorRtc {
  createTransport: RequestHandler<'rtc:createTransport'>;
  connectTransport: RequestHandler<'rtc:connectTransport'>;
  produce: RequestHandler<'rtc:produce'>;
  setProducerPaused: RequestHandler<'rtc:setProducerPaused'>;
  /** Whether `transportId` is a send transport `socket` opened. */
  ownsTransport(socket: SignalingSocket, transportId: string): boolean;
}

/** The publishing module as others see it. */
export interface PublishingModule extends SignalingModule {
  readonly name: 'publishing';
  readonly creatorRtc: CreatorRtc;
}

/** What one creator's socket publishes. */
interface Publisher {
  streamId: string;
  transportIds: Set<string>;
  producerIds: Set<string>;
}

/**
 * The `publishing` module: the creator's side of WebRTC — a send transport on the stream's room, DTLS, and the
 * producers (audio, video), which it may pause and resume (`rtc:setProducerPaused`: mute, camera off). Only the
 * stream's creator may publish or pause, and only while the stream is live on this node.
 * When the creator's socket goes away its producers close, so viewers stop receiving (and paying for) media; the
 * streams module keeps the stream for the creator's grace period, and what the creator publishes on its return reaches
 * the viewers through `rtc:newProducers`. A stream has at most PRODUCERS_PER_STREAM_MAX producers (LIMIT_REACHED
 * beyond). Pass `config` to override the environment.
 */
export function publishingModule(config?: PublishingConfig): SignalingModuleFactory {
  return async (ctx): Promise<PublishingModule> => {
    const streams = getStreamsModule(ctx);
    const log = ctx.log.child({ part: 'publishing' });
    const publishers = new Map<string, Publisher>();
    const producerLimit = new ProducerLimit((config ?? loadPublishingConfig()).PRODUCERS_PER_STREAM_MAX);

    const liveRoomOfCreator = async (socket: SignalingSocket, streamId: string): Promise<Room> => {
      const stream = await streams.get(streamId);
      if (!stream) throw new SignalingError('STREAM_NOT_FOUND', `no stream ${streamId}`);
      if (!sameAccount(stream.creator, socket.data.address ?? '')) {
        throw new SignalingError('NOT_CREATOR', 'only the creator of this stream can publish to it');
      }
      const room = ctx.sfu.getRoom(streamId);
      if (!room || room.closed) throw new SignalingError('STREAM_NOT_LIVE', 'go live first (stream:goLive)');
      return room;
    };

    const publisherOf = (socket: SignalingSocket, transportId: string): Publisher => {
      const p = publishers.get(socket.id);
      if (!p?.transportIds.has(transportId)) throw new SignalingError('BAD_REQUEST', 'unknown transport');
      return p;
    };

    const roomOf = (p: Publisher): Room => {
      const room = ctx.sfu.getRoom(p.streamId);
      if (!room || room.closed) throw new SignalingError('STREAM_NOT_LIVE', `stream ${p.streamId} has ended`);
      return room;
    };

    const forget = (socket: SignalingSocket): void => {
      const p = publishers.get(socket.id);
      if (!p) return;
      publishers.delete(socket.id);
      const room = ctx.sfu.getRoom(p.streamId);
      if (room && !room.closed) {
        for (const id of p.producerIds) room.closeProducer(id);
        // Publisher transports are capped per room: a creator who reconnects must not use them up.
        for (const id of p.transportIds) room.closePublisherTransport(id);
      }
      log.info({ streamId: p.streamId, producers: p.producerIds.size }, 'publisher left');
    };
    ctx.io.on('connection', (socket) => socket.on('disconnect', () => forget(socket)));

    const createTransport: RequestHandler<'rtc:createTransport'> = async (socket, { streamId }) => {
      const room = await liveRoomOfCreator(socket, streamId);
      let p = publishers.get(socket.id);
      if (p && p.streamId !== streamId)
        throw new SignalingError('BAD_REQUEST', 'this connection publishes another stream');
      const transport = await sfuCall(() => room.createPublisherTransport());
      p ??= { streamId, transportIds: new Set(), producerIds: new Set() };
      p.transportIds.add(transport.id);
      publishers.set(socket.id, p);
      return { transport };
    };

    const connectTransport: RequestHandler<'rtc:connectTransport'> = async (
      socket,
      { transportId, dtlsParameters },
    ) => {
      const p = publisherOf(socket, transportId);
      await sfuCall(() => roomOf(p).connectTransport(transportId, dtlsParameters as never));
      return {};
    };

    const produce: RequestHandler<'rtc:produce'> = async (socket, { transportId, kind, rtpParameters }) => {
      const p = publisherOf(socket, transportId);
      const room = roomOf(p);
      const producerId = await producerLimit.admit(p.streamId, room.producers.length, () =>
        sfuCall(() => room.produce(transportId, kind, rtpParameters as never)),
      );
      p.producerIds.add(producerId);
      log.info({ streamId: p.streamId, kind, producerId }, 'creator producing');
      return { producerId };
    };

    // Any producer of the stream, on any of its creator's connections (or an ingest's): the check is the stream's creator.
    const setProducerPaused: RequestHandler<'rtc:setProducerPaused'> = async (
      socket,
      { streamId, producerId, paused },
    ) => {
      const room = await liveRoomOfCreator(socket, streamId);
      if (!room.producers.some((p) => p.id === producerId)) throw new SignalingError('BAD_REQUEST', 'unknown producer');
      await sfuCall(() => room.setProducerPaused(producerId, paused));
      log.info({ streamId, producerId, paused }, paused ? 'creator paused a producer' : 'creator resumed a producer');
      return {};
    };

    return {
      name: 'publishing',
      creatorRtc: {
        createTransport,
        connectTransport,
        produce,
        setProducerPaused,
        ownsTransport: (socket, transportId) => publishers.get(socket.id)?.transportIds.has(transportId) === true,
      },
      async close() {
        publishers.clear();
      },
    };
  };
}
