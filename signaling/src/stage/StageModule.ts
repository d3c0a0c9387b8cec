import { HOST_PARTICIPANT_ID, type Room } from '@persecond/sfu';
import { protocolAddress } from '../accounts.ts';
import { SignalingError } from '../errors.ts';
import type { RequestHandler, RequestHandlers, SignalingSocket } from '../RequestRouter.ts';
import type { SignalingModule, SignalingModuleFactory } from '../SignalingContext.ts';
import { sfuCall } from '../sfuErrors.ts';
import { getStreamsModule, streamRoom } from '../streams/StreamsModule.ts';
import { walletRoom } from '../viewers/streamStats.ts';
import { Stage } from './Stage.ts';
import type { MediaSource, StageMember, StageView } from './wire.ts';

/** What other modules ask the stage (wallets in the protocol's address format). */
export interface StageAccess {
  /** Whether a co-host or guest of the live stream may publish (the creator is the publishing module's own check). */
  mayPublish(streamId: string, wallet: string): boolean;
  /** Whether the wallet is on the stream's stage as a guest or co-host (its viewer sessions are not charged). */
  onStage(streamId: string, wallet: string): boolean;
  /** Whether the host or a co-host muted this source of the wallet (it may not resume it). */
  isForceMuted(streamId: string, wallet: string, source: MediaSource): boolean;
}

/** The stage module as others see it (`ctx.modules.get('stage')`). */
export interface StageModule extends SignalingModule, StageAccess {
  readonly name: 'stage';
}

/** The stage module of a node, if it runs one (it is created after the modules that ask it: look it up per call). */
export function stageAccessOf(modules: ReadonlyMap<string, SignalingModule>): StageAccess | undefined {
  const mod = modules.get('stage') as Partial<StageModule> | undefined;
  return typeof mod?.onStage === 'function' ? (mod as StageModule) : undefined;
}

/** The Socket.IO room of the sockets that asked a stream's stage (`stage:state`): `stage:members` follows them. */
function stageRoom(streamId: string): string {
  return `stage:${streamId}`;
}

/** The participant id a wallet publishes as in its stream's room. */
function participantOf(stage: Stage, wallet: string): string {
  return wallet === stage.host ? HOST_PARTICIPANT_ID : wallet;
}

/**
 * The `stage` module: roles on a live stream's stage (host = its creator, co-hosts, guests, viewers), guest requests
 * the host and co-hosts answer, and the host's controls (force-mute, remove, promote, demote). One `Stage` per stream
 * live on this node, opened on first use and closed with the stream's room. It tells the publishing module who may
 * publish (every media request is checked against it), the viewers module who is on stage (not charged meanwhile),
 * and the sockets what changed (`stage:members` to the stream's room, `stage:requests` to its moderators,
 * `stage:role` to the wallet concerned). A wallet taken off the stage loses its media at once.
 */
export function stageModule(): SignalingModuleFactory {
  return async (ctx): Promise<StageModule> => {
    const streams = getStreamsModule(ctx);
    const log = ctx.log.child({ part: 'stage' });
    const stages = new Map<string, Stage>();
    const opening = new Map<string, Promise<Stage>>();
    const membersDue = new Set<Stage>();

    // A wallet's sockets hear about its role wherever they are (also joined by the viewers module's stats feed).
    ctx.io.on('connection', (socket) => {
      const address = socket.data.address && protocolAddress(socket.data.address);
      if (address) void socket.join(walletRoom(address));
    });

    const liveRoom = (streamId: string): Room => {
      const room = ctx.sfu.getRoom(streamId);
      if (!room || room.closed)
        throw new SignalingError('STREAM_NOT_LIVE', `stream ${streamId} is not live on this node`);
      return room;
    };

    const members = (stage: Stage): StageMember[] => {
      const room = ctx.sfu.getRoom(stage.streamId);
      const producers = room && !room.closed ? room.producers : [];
      return stage.entries().map((e) => ({
        ...e,
        producers: producers
          .filter((p) => p.participantId === participantOf(stage, e.wallet))
          .map((p) => ({ producerId: p.id, kind: p.kind, source: p.source, paused: p.paused })),
      }));
    };

    const view = (stage: Stage, wallet: string): StageView => ({
      streamId: stage.streamId,
      members: members(stage),
      requests: stage.moderates(wallet) ? stage.requests() : [],
      you: stage.roleOf(wallet),
    });

    const moderatorRooms = (stage: Stage): string[] =>
      stage
        .entries()
        .filter((e) => e.role !== 'guest')
        .map((e) => walletRoom(e.wallet));

    // Several changes in one turn (a guest's camera and microphone) make one message.
    const sendMembers = (stage: Stage): void => {
      if (membersDue.has(stage)) return;
      membersDue.add(stage);
      queueMicrotask(() => {
        membersDue.delete(stage);
        if (stage.closed) return;
        ctx.io
          .to([streamRoom(stage.streamId), stageRoom(stage.streamId), ...moderatorRooms(stage)])
          .emit('stage:members', { streamId: stage.streamId, members: members(stage) });
      });
    };

    const sendRequests = (stage: Stage): void => {
      ctx.io.to(moderatorRooms(stage)).emit('stage:requests', { streamId: stage.streamId, requests: stage.requests() });
    };

    /** Pauses the wallet's producers of `source` (a force-mute, or a new producer of a muted source). */
    const pauseSource = async (room: Room, participantId: string, source: MediaSource): Promise<void> => {
      const muted = room.producers.filter((p) => p.participantId === participantId && p.source === source && !p.paused);
      await Promise.all(muted.map((p) => room.setProducerPaused(p.id, true)));
    };

    const watchRoom = (stage: Stage, room: Room): (() => void) => {
      const onProducer = (e: { participantId: string; source: MediaSource; producerId: string }) => {
        if (stage.isForceMuted(e.participantId, e.source)) {
          room
            .setProducerPaused(e.producerId, true)
            .catch((err: unknown) => log.warn({ err, streamId: stage.streamId }, 'could not mute a new producer'));
        }
        sendMembers(stage);
      };
      const onChange = () => sendMembers(stage);
      const onClose = () => stage.close();
      const onSpeaker = ({ participantId }: { participantId: string }) => {
        const wallet = participantId === HOST_PARTICIPANT_ID ? stage.host : participantId;
        const streamId = stage.streamId;
        ctx.io
          .to([streamRoom(streamId), stageRoom(streamId)])
          .emit('stage:activeSpeaker', { streamId, participantId, wallet });
      };
      room.on('newProducer', onProducer);
      room.on('activeSpeaker', onSpeaker);
      room.on('producerClosed', onChange);
      room.on('producerPaused', onChange);
      room.on('participantClosed', onChange);
      room.once('close', onClose);
      return () => {
        room.off('newProducer', onProducer);
        room.off('activeSpeaker', onSpeaker);
        room.off('producerClosed', onChange);
        room.off('producerPaused', onChange);
        room.off('participantClosed', onChange);
        room.off('close', onClose);
      };
    };

    const open = (streamId: string, host: string, room: Room): Stage => {
      const stage = new Stage(streamId, host);
      stages.set(streamId, stage);
      const unwatch = watchRoom(stage, room);
      stage.on('role', ({ wallet, role, reason }) => {
        ctx.io.to(walletRoom(wallet)).emit('stage:role', { streamId, role, reason });
        // Off the stage: its transports and producers close now, whatever its client does.
        if (role === 'viewer' && reason !== 'rejected' && !room.closed) room.closeParticipant(wallet);
        if (reason === 'promoted' || reason === 'demoted') sendRequests(stage);
        log.info({ streamId, wallet, role, reason }, 'stage role changed');
      });
      stage.on('members', () => sendMembers(stage));
      stage.on('requests', () => sendRequests(stage));
      stage.once('@close', () => {
        unwatch();
        if (stages.get(streamId) === stage) stages.delete(streamId);
      });
      return stage;
    };

    /** The stage of a stream live on this node, opened on first use. */
    const stageOf = async (streamId: string): Promise<Stage> => {
      const existing = stages.get(streamId);
      if (existing && !existing.closed) return existing;
      let p = opening.get(streamId);
      if (!p) {
        p = (async () => {
          const stream = await streams.get(streamId);
          if (!stream) throw new SignalingError('STREAM_NOT_FOUND', `no stream ${streamId}`);
          const room = liveRoom(streamId);
          const again = stages.get(streamId);
          if (again && !again.closed) return again;
          const host = protocolAddress(stream.creator);
          if (!host) throw new SignalingError('INTERNAL', 'the stream has no valid creator address');
          return open(streamId, host, room);
        })().finally(() => opening.delete(streamId));
        opening.set(streamId, p);
      }
      return p;
    };

    const walletOf = (socket: SignalingSocket): string => {
      const wallet = socket.data.address && protocolAddress(socket.data.address);
      if (!wallet) throw new SignalingError('UNAUTHENTICATED', 'sign in with your wallet first');
      return wallet;
    };

    const targetOf = (wallet: string): string => {
      const address = protocolAddress(wallet);
      if (!address) throw new SignalingError('BAD_REQUEST', 'wallet: not an address');
      return address;
    };

    // The asking socket hears every later change (a page following the stage without watching the stream).
    const state: RequestHandler<'stage:state'> = async (socket, { streamId }) => {
      const wallet = walletOf(socket);
      const stage = await stageOf(streamId);
      await socket.join(stageRoom(streamId));
      return { stage: view(stage, wallet) };
    };

    const request: RequestHandler<'stage:request'> = async (socket, { streamId }) => {
      const wallet = walletOf(socket);
      const stage = await stageOf(streamId);
      stage.request(wallet);
      return { stage: view(stage, wallet) };
    };

    const cancel: RequestHandler<'stage:cancel'> = async (socket, { streamId }) => {
      (await stageOf(streamId)).cancel(walletOf(socket));
      return {};
    };

    const answer: RequestHandler<'stage:answer'> = async (socket, { streamId, wallet, approve }) => {
      (await stageOf(streamId)).answer(walletOf(socket), targetOf(wallet), approve);
      return {};
    };

    const leave: RequestHandler<'stage:leave'> = async (socket, { streamId }) => {
      (await stageOf(streamId)).leave(walletOf(socket));
      return {};
    };

    const remove: RequestHandler<'stage:remove'> = async (socket, { streamId, wallet }) => {
      (await stageOf(streamId)).remove(walletOf(socket), targetOf(wallet));
      return {};
    };

    const setRole: RequestHandler<'stage:setRole'> = async (socket, { streamId, wallet, role }) => {
      (await stageOf(streamId)).setRole(walletOf(socket), targetOf(wallet), role);
      return {};
    };

    const mute: RequestHandler<'stage:mute'> = async (socket, { streamId, wallet, source, muted }) => {
      const stage = await stageOf(streamId);
      const target = targetOf(wallet);
      stage.mute(walletOf(socket), target, source, muted);
      // Lifting resumes nothing: the member turns its source back on itself.
      if (muted) await sfuCall(() => pauseSource(liveRoom(streamId), participantOf(stage, target), source));
      return {};
    };

    const handlers: RequestHandlers = {
      'stage:state': state,
      'stage:request': request,
      'stage:cancel': cancel,
      'stage:answer': answer,
      'stage:leave': leave,
      'stage:remove': remove,
      'stage:setRole': setRole,
      'stage:mute': mute,
    };

    const unsubscribe = streams.onLifecycle((e) => {
      if (e.type === 'ended') stages.get(e.streamId)?.close();
    });

    return {
      name: 'stage',
      handlers,
      mayPublish: (streamId, wallet) => stages.get(streamId)?.mayPublish(wallet) === true,
      onStage: (streamId, wallet) => stages.get(streamId)?.isGuestOrCoHost(wallet) === true,
      isForceMuted: (streamId, wallet, source) => stages.get(streamId)?.isForceMuted(wallet, source) === true,
      async close() {
        unsubscribe();
        for (const stage of [...stages.values()]) stage.close();
      },
    };
  };
}
