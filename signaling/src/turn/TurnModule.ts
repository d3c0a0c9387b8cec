import { Counter } from 'prom-client';
import type { IceServerInfo } from '../protocol.ts';
import type { SignalingSocket } from '../RequestRouter.ts';
import type { SignalingModule, SignalingModuleFactory } from '../SignalingContext.ts';
import { loadTurnConfig, type TurnConfig } from './config.ts';
import { mintTurnCredential } from './credentials.ts';

/** The `turn` module as the `rtc` module sees it (`ctx.modules.get('turn')`). */
export interface TurnModule extends SignalingModule {
  readonly name: 'turn';
  /**
   * The ICE servers for a signed-in socket's transports: the TURN URLs with a credential minted for its wallet;
   * undefined while TURN is off or the socket is not signed in.
   */
  iceServersFor(socket: SignalingSocket): IceServerInfo[] | undefined;
}

/**
 * The `turn` module: short-lived TURN credentials (TURN REST API shared secret, coturn's `use-auth-secret`) for the
 * clients of this node, so a viewer or creator whose UDP is blocked still reaches the SFU through the relay. Off when
 * TURN_URLS / TURN_SECRET are unset. Credentials are never logged.
 */
export function turnModule(config?: TurnConfig | null): SignalingModuleFactory {
  return async (ctx): Promise<TurnModule> => {
    const turn = config === undefined ? loadTurnConfig() : (config ?? undefined);
    const minted = new Counter({
      name: 'signaling_turn_credentials_total',
      help: 'TURN credentials minted for signed-in clients',
      registers: [ctx.metrics.registry],
    });
    if (turn) ctx.log.child({ part: 'turn' }).info({ urls: turn.urls, ttlSeconds: turn.ttlSeconds }, 'TURN on');
    return {
      name: 'turn',
      iceServersFor(socket) {
        const wallet = socket.data.address;
        if (!turn || !wallet) return undefined;
        const { username, credential } = mintTurnCredential(turn.secret, wallet, turn.ttlSeconds);
        minted.inc();
        return [{ urls: [...turn.urls], username, credential }];
      },
    };
  };
}
