import type { Logger } from 'pino';
import type { createClient } from 'redis';
import { z } from 'zod';

type Redis = ReturnType<typeof createClient>;

/** A change of where a stream's room lives: `hosted` by `node` now, or `ended` for good. */
export type RoomChange = { type: 'hosted' | 'ended'; streamId: string; node: string };

const Change = z.object({ type: z.enum(['hosted', 'ended']), streamId: z.string(), node: z.string() });

/**
 * Tells every node when a stream moves to another node or ends, so the node that hosted its room closes it even when
 * the creator's request reached another node (one room per stream across the deployment).
 */
export interface RoomHandoff {
  publish(change: RoomChange): Promise<void>;
  close(): Promise<void>;
}

/** Single node: nobody else to tell. */
export const localHandoff: RoomHandoff = {
  publish: async () => undefined,
  close: async () => undefined,
};

/** Redis pub/sub on `<prefix>rooms`; `onChange` runs on every other node for each change this one publishes. */
export async function redisHandoff(
  redis: Redis,
  prefix: string,
  node: string,
  onChange: (change: RoomChange) => void,
  log: Logger,
): Promise<RoomHandoff> {
  const channel = `${prefix}rooms`;
  const subscriber = redis.duplicate();
  subscriber.on('error', (err) => log.error({ err }, 'redis subscriber error'));
  await subscriber.connect();
  await subscriber.subscribe(channel, (message) => {
    let change: RoomChange;
    try {
      change = Change.parse(JSON.parse(message));
    } catch {
      return;
    }
    if (change.node !== node) onChange(change);
  });
  let closing: Promise<void> | undefined;
  return {
    publish: async (change) => {
      await redis.publish(channel, JSON.stringify(change));
    },
    close: () => {
      closing ??= (async () => {
        if (subscriber.isOpen) await subscriber.quit();
      })();
      return closing;
    },
  };
}
