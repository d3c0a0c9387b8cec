import { createClient } from 'redis';

/** Deletes every key under `prefix` a Redis test left behind (adapter streams, nonces, directory entries). */
export async function deleteRedisKeys(url: string, prefix: string): Promise<void> {
  const redis = createClient({ url });
  await redis.connect();
  try {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(keys);
  } finally {
    await redis.quit();
  }
}
