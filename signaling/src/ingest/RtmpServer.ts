import { createServer, type Server, type Socket } from 'node:net';
import type { Sfu } from '@persecond/sfu';
import type { Logger } from 'pino';
import { SignalingError } from '../errors.ts';
import type { StreamsModule } from '../streams/StreamsModule.ts';
import type { IngestSessions } from './IngestSessions.ts';
import { RtmpSession } from './RtmpSession.ts';
import {
  type Amf,
  avcProfileOf,
  decodeAmf,
  encodeAmf,
  flvTag,
  MSG,
  type RtmpMessage,
  RtmpProtocolError,
  RtmpReader,
  writeMessage,
} from './rtmpProtocol.ts';
import type { StreamKeyInfo, StreamKeys } from './StreamKeys.ts';
import { checkedKey, streamOf } from './WhipEndpoint.ts';

/** The RTMP application encoders publish to: `rtmp://host:port/live`, the stream key as stream name. */
export const RTMP_APP = 'live';
const OUT_CHUNK = 4096;
/** FLV tags kept while waiting for the first video header (about 2 s of a 6 Mbps push). */
const PENDING_MAX_BYTES = 2 * 1024 * 1024;
/** Without video this long after publish, the session starts with what it has (audio only). */
const VIDEO_WAIT_MS = 3_000;

export interface RtmpServerDeps {
  keys: StreamKeys;
  streams: StreamsModule;
  sfu: Sfu;
  sessions: IngestSessions;
  log: Logger;
  /** Connections at once; more are closed at once. */
  maxConnections: number;
  /** A connection not publishing this long after it opened is closed; a publisher silent this long too. */
  idleTimeoutMs: number;
  /** RTMP_H264_PASSTHROUGH: compatible H.264 is passed through instead of transcoded to VP8 (read per publish). */
  h264Passthrough: boolean;
}

/**
 * RTMP ingest (OBS's default output): a TCP server speaking RTMP's handshake and commands itself (connect →
 * createStream → publish), checking the stream name as a stream key at `publish` (unknown, revoked, already
 * publishing, stream not live → `onStatus` error with the reason and the connection closed; keys never logged), and
 * handing the pushed FLV to an RtmpSession (ffmpeg → RTP → PlainTransports in the stream's router). Anything that is
 * not RTMP closes the connection at once. The encoder going away (TCP close, `deleteStream`) is the creator-away path.
 */
export class RtmpServer {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #closing: Promise<void> | undefined;

  constructor(private readonly deps: RtmpServerDeps) {
    this.#server = createServer((socket) => this.#accept(socket));
  }

  /** Listens on `host:port` (0: any free port); resolves with the port. */
  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        const addr = this.#server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : port);
      });
    });
  }

  /** RTMP_H264_PASSTHROUGH, changeable at run time; applies from the next publish on. */
  set h264Passthrough(on: boolean) {
    this.deps.h264Passthrough = on;
  }

  /** Open connections (tests check none is left). */
  get connections(): number {
    return this.#sockets.size;
  }

  /** Stops listening and drops every connection (idempotent); sessions end with the ingest module. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      for (const s of this.#sockets) s.destroy();
      this.#server.close(() => resolve());
    });
    return this.#closing;
  }

  #accept(socket: Socket): void {
    const { log } = this.deps;
    if (this.#sockets.size >= this.deps.maxConnections) {
      log.warn({ remote: socket.remoteAddress }, 'rtmp connection refused: too many connections');
      socket.destroy();
      return;
    }
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    new RtmpConnection(socket, this.deps).run();
  }
}

type State = 'commands' | 'checking' | 'waiting-video' | 'starting' | 'live' | 'closed';

/** One encoder's connection. */
class RtmpConnection {
  readonly #reader = new RtmpReader();
  #state: State = 'commands';
  #key: StreamKeyInfo | undefined;
  #streamId: string | undefined;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #queued: RtmpMessage[] = [];
  #session: RtmpSession | undefined;
  #videoTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly deps: RtmpServerDeps,
  ) {}

  run(): void {
    const { socket } = this;
    socket.setNoDelay(true);
    socket.setTimeout(this.deps.idleTimeoutMs, () => this.#end('idle or never published'));
    socket.on('data', (data: Buffer) => {
      try {
        const { reply, messages } = this.#reader.push(data);
        if (reply) socket.write(reply);
        for (const m of messages) this.#onMessage(m);
      } catch (err) {
        this.#end(err instanceof RtmpProtocolError ? `malformed RTMP: ${err.message}` : String(err));
      }
    });
    socket.on('error', () => {});
    socket.once('close', () => this.#end('connection closed', 'connection-lost'));
  }

  #send(csid: number, typeId: number, payload: Buffer, streamId = 0): void {
    if (this.#state === 'closed') return;
    this.socket.write(writeMessage(csid, { typeId, streamId, timestamp: 0, payload }, OUT_CHUNK));
  }

  #command(values: Amf[], streamId = 0): void {
    this.#send(streamId ? 5 : 3, MSG.command, encodeAmf(values), streamId);
  }

  #onMessage(m: RtmpMessage): void {
    if (this.#state === 'closed') return;
    if (m.typeId === MSG.audio || m.typeId === MSG.video) {
      this.#onMedia(m);
      return;
    }
    if (m.typeId !== MSG.command) return; // acks, user control, metadata: nothing to do
    const [name, txn, object, arg] = decodeAmf(m.payload);
    const t = typeof txn === 'number' ? txn : 0;
    if (name === 'connect') {
      const app = (object as { app?: unknown } | null)?.app;
      if (typeof app !== 'string' || app.replace(/\/+$/, '') !== RTMP_APP) {
        this.#command(['_error', t, null, { level: 'error', code: 'NetConnection.Connect.Rejected' }]);
        this.#end(`unknown application ${JSON.stringify(String(app).slice(0, 40))} (use /${RTMP_APP})`);
        return;
      }
      const u32 = (n: number, extra: number[] = []) => {
        const b = Buffer.alloc(4);
        b.writeUInt32BE(n);
        return Buffer.concat([b, Buffer.from(extra)]);
      };
      this.#send(2, MSG.windowAckSize, u32(2_500_000));
      this.#send(2, MSG.setPeerBandwidth, u32(2_500_000, [2]));
      this.#send(2, MSG.setChunkSize, u32(OUT_CHUNK));
      this.#command([
        '_result',
        t,
        { fmsVer: 'FMS/3,0,1,123', capabilities: 31 },
        { level: 'status', code: 'NetConnection.Connect.Success', description: 'Connected.', objectEncoding: 0 },
      ]);
    } else if (name === 'createStream') {
      this.#command(['_result', t, null, 1]);
    } else if (name === 'releaseStream' || name === 'FCPublish') {
      this.#command(['_result', t, null, null]);
    } else if (name === 'publish') {
      if (this.#state !== 'commands' || typeof arg !== 'string') {
        this.#end('publish twice or without a name');
        return;
      }
      this.#state = 'checking';
      this.#publish(arg.split('?')[0] ?? '', m.streamId || 1).catch((err: unknown) => {
        const e = err instanceof SignalingError ? err : undefined;
        this.#command(
          [
            'onStatus',
            0,
            null,
            { level: 'error', code: 'NetStream.Publish.BadName', description: e?.message ?? 'failed' },
          ],
          m.streamId || 1,
        );
        this.#end(e ? `refused ${e.code}: ${e.message}` : `publish failed: ${String(err)}`, undefined, !e);
      });
    } else if (name === 'deleteStream' || name === 'FCUnpublish') {
      this.#end('the encoder stopped', 'deleted');
    }
  }

  /** Checks the key and the stream before saying Publish.Start; takes the key and the stream in the registry. */
  async #publish(token: string, streamId: number): Promise<void> {
    const { keys, streams, sfu, sessions } = this.deps;
    const key = await checkedKey(keys, token);
    const stream = await streamOf(streams, key);
    if (this.#state === 'closed') return;
    sessions.reserve(key.keyId, stream.streamId);
    this.#key = key;
    this.#streamId = stream.streamId;
    const room = sfu.getRoom(stream.streamId);
    if (room && !room.closed && room.producers.length > 0) {
      throw new SignalingError('ALREADY_PUBLISHING', 'this stream is being published from the studio', {
        reason: 'studio',
      });
    }
    this.#state = 'waiting-video';
    this.#command(
      ['onStatus', 0, null, { level: 'status', code: 'NetStream.Publish.Start', description: 'Publishing.' }],
      streamId,
    );
    this.deps.log.info({ keyId: key.keyId, streamId: stream.streamId }, 'rtmp publish accepted');
    this.#videoTimer = setTimeout(() => this.#start(undefined), VIDEO_WAIT_MS);
  }

  #onMedia(m: RtmpMessage): void {
    if (this.#state === 'live') {
      this.#session?.write(flvTag(m));
      return;
    }
    if (this.#state === 'starting') {
      this.#queued.push(m);
      return;
    }
    if (this.#state !== 'waiting-video') {
      this.#end('media before publish');
      return;
    }
    this.#pending.push(flvTag(m));
    this.#pendingBytes += m.payload.length;
    if (this.#pendingBytes > PENDING_MAX_BYTES) {
      this.#end('no video header in the first 2 MB');
      return;
    }
    if (m.typeId === MSG.video) this.#start(avcProfileOf(m.payload) ?? 'unknown');
  }

  /** Takes the stream live and starts the session, once the first video message tells the codec. */
  #start(profile: string | undefined): void {
    if (this.#state !== 'waiting-video' || !this.#key || !this.#streamId) return;
    clearTimeout(this.#videoTimer);
    this.#state = 'starting';
    const key = this.#key;
    const streamId = this.#streamId;
    const { streams, sfu, sessions, log } = this.deps;
    (async () => {
      const presence = await streams.goLiveFor(key.creator, streamId);
      const room = sfu.getRoom(streamId);
      if (!room || room.closed || this.#state === 'closed') {
        presence.leave();
        throw new SignalingError('STREAM_NOT_LIVE', 'the stream ended while going live');
      }
      const session = await RtmpSession.start({
        room,
        keyId: key.keyId,
        creator: key.creator,
        presence,
        h264Profile: profile === 'unknown' || !this.deps.h264Passthrough ? undefined : profile,
        log,
        onEnded: (s, reason) => {
          sessions.remove(s);
          if (reason !== 'connection-lost' && reason !== 'deleted') this.#end(`session ended (${reason})`);
        },
      });
      if ((this.#state as State) === 'closed') return session.close('connection-lost');
      this.#session = session;
      sessions.add(session);
      this.#state = 'live';
      for (const tag of this.#pending) session.write(tag);
      for (const m of this.#queued) session.write(flvTag(m));
      this.#pending = [];
      this.#queued = [];
      markKeyUsed(this.deps, key.keyId);
    })().catch((err: unknown) => {
      const e = err instanceof SignalingError ? err : undefined;
      this.#end(e ? `refused ${e.code}: ${e.message}` : `going live failed: ${String(err)}`, undefined, !e);
    });
  }

  /** Closes the connection (idempotent) with a log line saying why; ends the session, frees the key and stream. */
  #end(why: string, reason: 'connection-lost' | 'deleted' = 'connection-lost', error = false): void {
    if (this.#state === 'closed') return;
    const wasLive = this.#session !== undefined;
    this.#state = 'closed';
    clearTimeout(this.#videoTimer);
    const { log, sessions } = this.deps;
    const fields = { remote: this.socket.remoteAddress, keyId: this.#key?.keyId, streamId: this.#streamId, why };
    if (error) log.error(fields, 'rtmp connection closed');
    else log.info(fields, wasLive ? 'rtmp publisher stopped' : 'rtmp connection closed');
    this.#session?.close(reason);
    if (this.#key && this.#streamId) sessions.release(this.#key.keyId, this.#streamId);
    this.#pending = [];
    this.#queued = [];
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 500).unref();
  }
}

function markKeyUsed(deps: RtmpServerDeps, keyId: string): void {
  deps.keys.markUsed(keyId).catch((err: unknown) => deps.log.warn({ err, keyId }, 'could not mark a key used'));
}
