import { HOST_PARTICIPANT_ID, type Room } from '@persecond/sfu';
import { protocolAddress, sameAccount } from '../accounts.ts';
import { SignalingError } from '../errors.ts';
import type { RequestHandler, SignalingSocket } from '../RequestRouter.ts';
import type { SignalingModule, SignalingModuleFactory } from '../SignalingContext.ts';
import { sfuCall } from '../sfuErrors.ts';
import { stageAccessOf } from '../stage/StageModule.ts';
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

/** What one publishing socket (the creator's, or a co-host's or guest's on stage) publishes. */
interface Publisher {
  streamId: string;
  /** Who it publishes as in the room: the host, or the wallet on stage. */
  participantId: string;
  transportIds: Set<string>;
  producerIds: Set<string>;
}

/**
 * The `publishing` module: the publishers' side of WebRTC — a send transport on the stream's room, DTLS, and the
 * producers (audio, video; camera, microphone or screen), which their owner may pause and resume
 * (`rtc:setProducerPaused`: mute, camera off). Only the stream's creator (the host) and, with the stage module, a
 * co-host or approved guest may publish, and only while the stream is live on this node: every request is checked
 * against the stage again (a wallet taken off the stage is refused NOT_ON_STAGE), and a source the host force-muted
 * cannot be resumed by its owner (FORCE_MUTED).
 * When the creator's socket goes away its producers close, so viewers stop receiving (and paying for) media; the
 * streams module keeps the stream for the creator's grace period, and what the creator publishes on its return reaches
 * the viewers through `rtc:newProducers`. Each publisher of a stream (the host with all its connections, each
 * co-host and guest) has at most PRODUCERS_PER_STREAM_MAX producers (LIMIT_REACHED beyond). Pass `config` to
 * override the environment.
 */
export function publishingModule(config?: PublishingConfig): SignalingModuleFactory {
  return async (ctx): Promise<PublishingModule> => {
    const streams = getStreamsModule(ctx);
    const log = ctx.log.child({ part: 'publishing' });
    const publishers = new Map<string, Publisher>();
    const producerLimit = new ProducerLimit((config ?? loadPublishingConfig()).PRODUCERS_PER_STREAM_MAX);

    /** Who the socket may publish as on the live stream: the host (its creator), or its wallet on the stage. */
    const liveRoomOfPublisher = async (
      socket: SignalingSocket,
      streamId: string,
    ): Promise<{ room: Room; participantId: string }> => {
      const stream = await streams.get(streamId);
      if (!stream) throw new SignalingError('STREAM_NOT_FOUND', `no stream ${streamId}`);
      const address = socket.data.address ?? '';
      let participantId = HOST_PARTICIPANT_ID;
      if (!sameAccount(stream.creator, address)) {
        const stage = stageAccessOf(ctx.modules);
        if (!stage) throw new SignalingError('NOT_CREATOR', 'only the creator of this stream can publish to it');
        const wallet = protocolAddress(address);
        if (!wallet || !stage.mayPublish(streamId, wallet)) {
          throw new SignalingError('NOT_ON_STAGE', 'only the host and the guests on stage can publish to this stream');
        }
        participantId = wallet;
      }
      const room = ctx.sfu.getRoom(streamId);
      if (!room || room.closed) throw new SignalingError('STREAM_NOT_LIVE', 'go live first (stream:goLive)');
      return { room, participantId };
    };

    /** The socket's publisher owning `transportId`, still allowed to publish (a guest may have left the stage). */
    const publisherOf = (socket: SignalingSocket, transportId: string): Publisher => {
      const p = publishers.get(socket.id);
      if (!p?.transportIds.has(transportId)) throw new SignalingError('BAD_REQUEST', 'unknown transport');
      if (
        p.participantId !== HOST_PARTICIPANT_ID &&
        stageAccessOf(ctx.modules)?.mayPublish(p.streamId, p.participantId) !== true
      ) {
        throw new SignalingError('NOT_ON_STAGE', 'you are no longer on this stage');
      }
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
      const { room, participantId } = await liveRoomOfPublisher(socket, streamId);
      let p = publishers.get(socket.id);
      if (p && p.streamId !== streamId)
        throw new SignalingError('BAD_REQUEST', 'this connection publishes another stream');
      const transport = await sfuCall(() => room.createPublisherTransport(participantId));
      // Taken off the stage while the transport was being made: it must not outlive the permission.
      if (participantId !== HOST_PARTICIPANT_ID && !stageAccessOf(ctx.modules)?.mayPublish(streamId, participantId)) {
        room.closePublisherTransport(transport.id);
        throw new SignalingError('NOT_ON_STAGE', 'you are no longer on this stage');
      }
      p ??= { streamId, participantId, transportIds: new Set(), producerIds: new Set() };
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

    const produce: RequestHandler<'rtc:produce'> = async (socket, { transportId, kind, rtpParameters, source }) => {
      const p = publisherOf(socket, transportId);
      const room = roomOf(p);
      const own = room.producers.filter((x) => x.participantId === p.participantId).length;
      const producerId = await producerLimit.admit(`${p.streamId}/${p.participantId}`, own, () =>
        sfuCall(() => room.produce(transportId, kind, rtpParameters as never, source)),
      );
      p.producerIds.add(producerId);
      log.info({ streamId: p.streamId, participantId: p.participantId, kind, source, producerId }, 'producing');
      return { producerId };
    };

    // A producer of the publisher's own, on any of its connections (the host's: an ingest's too).
    const setProducerPaused: RequestHandler<'rtc:setProducerPaused'> = async (
      socket,
      { streamId, producerId, paused },
    ) => {
      const { room, participantId } = await liveRoomOfPublisher(socket, streamId);
      const producer = room.producers.find((p) => p.id === producerId && p.participantId === participantId);
      if (!producer) throw new SignalingError('BAD_REQUEST', 'unknown producer');
      if (!paused && stageAccessOf(ctx.modules)?.isForceMuted(streamId, participantId, producer.source)) {
        throw new SignalingError('FORCE_MUTED', `the host muted your ${producer.source}`, { source: producer.source });
      }
      await sfuCall(() => room.setProducerPaused(producerId, paused));
      log.info({ streamId, participantId, producerId, paused }, paused ? 'producer paused' : 'producer resumed');
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
