import { getAuthModule } from '../auth/AuthModule.ts';
import { ledgerModuleOf } from '../ledger/ledgerModule.ts';
import type { SignalingModule, SignalingModuleFactory } from '../SignalingContext.ts';
import { getStreamsModule } from '../streams/StreamsModule.ts';
import { type IngestConfig, loadIngestConfig } from './config.ts';
import { IngestSessions } from './IngestSessions.ts';
import { registerKeyRoutes } from './keyRoutes.ts';
import { RTMP_APP, RtmpServer } from './RtmpServer.ts';
import { StreamKeys } from './StreamKeys.ts';
import { registerWhipRoutes } from './WhipEndpoint.ts';

/** The ingest module as others see it. */
export interface IngestModule extends SignalingModule {
  readonly name: 'ingest';
  readonly keys: StreamKeys;
  /** WHIP and RTMP sessions. */
  readonly sessions: IngestSessions;
  /** The RTMP server when RTMP_PORT is set. */
  readonly rtmp: RtmpServer | undefined;
  /** `rtmp://host:port/live` when the RTMP server runs. */
  readonly rtmpUrl: string | undefined;
}

/**
 * The `ingest` module: creators' stream keys (`/v1/stream-keys`, stored hashed in the signaling database) and WHIP
 * ingest (`/whip`, RFC 9725) for OBS and other encoders. A WHIP session takes the key's stream live for its creator
 * and publishes into the stream's room through the same publisher transport and producers as the browser studio,
 * so WebRTC viewers, the HLS relay, metering and enforcement see no difference; its end is the creator-away path.
 * Needs the auth, streams and ledger modules before it. Pass `config` to override the environment.
 */
export function ingestModule(config?: IngestConfig): SignalingModuleFactory {
  return async (ctx): Promise<IngestModule> => {
    const cfg = config ?? loadIngestConfig();
    const log = ctx.log.child({ part: 'ingest' });
    const auth = getAuthModule(ctx);
    const streams = getStreamsModule(ctx);
    const keys = new StreamKeys(ledgerModuleOf(ctx.modules).ledger);
    const sessions = new IngestSessions();
    await registerKeyRoutes({ app: ctx.app, auth, keys, streams, sessions, config: cfg, log });
    await registerWhipRoutes({ app: ctx.app, keys, streams, sfu: ctx.sfu, sessions, config: cfg, log });
    let rtmp: RtmpServer | undefined;
    let rtmpUrl: string | undefined;
    if (cfg.RTMP_PORT > 0) {
      rtmp = new RtmpServer({
        keys,
        streams,
        sfu: ctx.sfu,
        sessions,
        log: log.child({ part: 'rtmp' }),
        maxConnections: cfg.RTMP_CONNECTIONS_MAX,
        idleTimeoutMs: cfg.RTMP_IDLE_TIMEOUT_SECONDS * 1000,
        h264Passthrough: cfg.RTMP_H264_PASSTHROUGH,
      });
      const port = await rtmp.listen(cfg.RTMP_PORT, cfg.RTMP_HOST);
      rtmpUrl = `rtmp://${cfg.RTMP_HOST.includes(':') ? `[${cfg.RTMP_HOST}]` : cfg.RTMP_HOST}:${port}/${RTMP_APP}`;
      log.info({ rtmpUrl }, 'rtmp ingest listening');
    }
    let closing: Promise<void> | undefined;
    return {
      name: 'ingest',
      keys,
      sessions,
      rtmp,
      rtmpUrl,
      close() {
        // The rooms close with the node: the sessions end with their streams, not as the creator going away.
        closing ??= (async () => {
          sessions.closeAll('stream-ended');
          await rtmp?.close();
        })();
        return closing;
      },
    };
  };
}
