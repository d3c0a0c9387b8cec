import type { Room, TransportParams } from '@persecond/sfu';
import { SignalingError } from '../errors.ts';
import type { CreatorRtc } from '../publishing/PublishingModule.ts';
import type { RequestHandler, RequestHandlers, SignalingSocket } from '../RequestRouter.ts';
import type { SignalingModule, SignalingModuleFactory } from '../SignalingContext.ts';
import { sfuCall } from '../sfuErrors.ts';
import type { TurnModule } from '../turn/TurnModule.ts';

/** A WebRTC viewer's side of a room, as the viewers module hands it to `rtc:*` requests. */
export interface ViewerRtc {
  readonly sessionId: string;
  readonly streamId: string;
  readonly transport: TransportParams;
  readonly room: Room;
}

/** What the viewers module offers `rtc:*`: the WebRTC viewer attached to a socket, if any. */
export interface ViewerRtcSource {
  viewerRtc(socket: SignalingSocket): ViewerRtc | undefined;
}

/**
 * The `rtc` module: the one owner of every `rtc:*` request, for both roles. A send transport and producers are the
 * creator's (the `publishing` module's `creatorRtc`); a receive transport, consumers and their resume are an admitted
 * WebRTC viewer's (the `viewers` module hands its transport out at admission). A transport id answers to the socket
 * that owns it and to nobody else.
 */
export function rtcModule(): SignalingModuleFactory {
  return async (ctx): Promise<SignalingModule> => {
    const creator = (ctx.modules.get('publishing') as { creatorRtc?: CreatorRtc } | undefined)?.creatorRtc;
    const viewers = ctx.modules.get('viewers') as (SignalingModule & Partial<ViewerRtcSource>) | undefined;
    const viewerOf = (socket: SignalingSocket): ViewerRtc | undefined => viewers?.viewerRtc?.(socket);
    const notCreator = (): never => {
      throw new SignalingError('BAD_REQUEST', 'this node does not take publishers');
    };

    const capabilities: RequestHandler<'rtc:capabilities'> = async (_socket, { streamId }) => {
      const room = ctx.sfu.getRoom(streamId);
      if (!room || room.closed)
        throw new SignalingError('STREAM_NOT_LIVE', `stream ${streamId} is not live on this node`);
      return { routerRtpCapabilities: room.rtpCapabilities };
    };

    // Looked up per request: the `turn` module may be created after this one (a test's extra modules).
    const iceServersOf = (socket: SignalingSocket) => {
      const iceServers = (ctx.modules.get('turn') as Partial<TurnModule> | undefined)?.iceServersFor?.(socket);
      return iceServers ? { iceServers } : {};
    };

    const createTransport: RequestHandler<'rtc:createTransport'> = async (socket, p) => {
      if (p.direction === 'send') {
        return creator ? { ...(await creator.createTransport(socket, p)), ...iceServersOf(socket) } : notCreator();
      }
      const v = viewerOf(socket);
      if (!v || v.streamId !== p.streamId) {
        throw new SignalingError('BAD_REQUEST', 'join the stream as a WebRTC viewer first (viewer:join)');
      }
      return { transport: v.transport, ...iceServersOf(socket) };
    };

    const connectTransport: RequestHandler<'rtc:connectTransport'> = async (socket, p) => {
      const v = viewerOf(socket);
      if (v?.transport.id === p.transportId) {
        await sfuCall(() => v.room.connectTransport(p.transportId, p.dtlsParameters as never));
        return {};
      }
      if (creator?.ownsTransport(socket, p.transportId)) return creator.connectTransport(socket, p);
      throw new SignalingError('BAD_REQUEST', 'unknown transport');
    };

    const produce: RequestHandler<'rtc:produce'> = async (socket, p) =>
      creator ? creator.produce(socket, p) : notCreator();

    const setProducerPaused: RequestHandler<'rtc:setProducerPaused'> = async (socket, p) =>
      creator ? creator.setProducerPaused(socket, p) : notCreator();

    const consume: RequestHandler<'rtc:consume'> = async (socket, p) => {
      const v = viewerOf(socket);
      if (!v || v.transport.id !== p.transportId) {
        throw new SignalingError('BAD_REQUEST', 'join the stream as a WebRTC viewer first (viewer:join)');
      }
      return { consumers: await sfuCall(() => v.room.consume(v.sessionId, p.rtpCapabilities as never)) };
    };

    const resume: RequestHandler<'rtc:resume'> = async (socket, p) => {
      const v = viewerOf(socket);
      if (!v) throw new SignalingError('BAD_REQUEST', 'join the stream as a WebRTC viewer first (viewer:join)');
      await sfuCall(() => v.room.resumeConsumer(v.sessionId, p.consumerId));
      return {};
    };

    // Only the socket's own consumers: the room looks the id up among this viewer's consumers alone.
    const setLayers: RequestHandler<'rtc:setLayers'> = async (socket, p) => {
      const v = viewerOf(socket);
      if (!v) throw new SignalingError('BAD_REQUEST', 'join the stream as a WebRTC viewer first (viewer:join)');
      await sfuCall(() => v.room.setViewerLayers(v.sessionId, p.consumerId, p.layers));
      return {};
    };

    const handlers: RequestHandlers = {
      'rtc:capabilities': capabilities,
      'rtc:createTransport': createTransport,
      'rtc:connectTransport': connectTransport,
      'rtc:produce': produce,
      'rtc:setProducerPaused': setProducerPaused,
      'rtc:consume': consume,
      'rtc:resume': resume,
      'rtc:setLayers': setLayers,
    };
    return { name: 'rtc', handlers };
  };
}
