// Two chat nodes in one process sharing what nodes share in production: the Socket.IO Redis adapter, the Redis
// limits and stream directory (under a random prefix, deleted on close), and the database (one PGlite directory).
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KeyringPair } from '@polkadot/keyring/types';
import { chatModule } from '../../src/chat/ChatModule.ts';
import { loadChatConfig } from '../../src/chat/config.ts';
import type { SignalingServer } from '../../src/index.ts';
import { openSocket, signIn } from '../support/clients.ts';
import { type LiveStream, liveStreamModules } from '../support/liveStream.ts';
import { deleteRedisKeys } from '../support/redisKeys.ts';
import { anonymousOn, anonymousSocket, Reader, startChatStream } from './support.ts';

/** The fixture's node (`a`, with the chain and wallets) and a second node `b`. */
export interface TwoChatNodes {
  live: LiveStream;
  a: SignalingServer;
  b: SignalingServer;
  /** A reader of `pair` (anonymous without one) on `node`, in the stream's chat; closed with the nodes. */
  reader(node: SignalingServer, streamId: string, pair?: KeyringPair): Promise<Reader>;
  /** Closes the readers and both nodes, and deletes the data directory and the Redis keys. */
  close(): Promise<void>;
}

/** Starts the two nodes on `redisUrl`. */
export async function startTwoChatNodes(redisUrl: string): Promise<TwoChatNodes> {
  const prefix = `persecond:test:${randomUUID()}:`;
  const env = { REDIS_URL: redisUrl, REDIS_STREAM: `${prefix}socket.io` };
  const streamsEnv = { STREAMS_REDIS_PREFIX: `${prefix}streams:` };
  const chatEnv = { CHAT_REDIS_PREFIX: `${prefix}chat:` };
  // One PGlite directory: nodes of one process share its instance, as nodes share a PostgreSQL server.
  const dataDir = mkdtempSync(join(tmpdir(), 'persecond-chat-'));
  const live = await startChatStream({ env, streamsEnv, chatEnv, ledger: { dataDir } });
  const a = live.server;
  const b = await live.startServer(
    {
      modules: [
        ...liveStreamModules({ streamsEnv, viewersEnv: {}, ledgerDataDir: dataDir }),
        chatModule(loadChatConfig(chatEnv)),
      ],
    },
    env,
  );
  const onB: Reader[] = [];
  return {
    live,
    a,
    b,
    async reader(node, streamId, pair) {
      let r: Reader;
      if (node === a) r = new Reader(pair ? await live.open(pair) : await anonymousOn(live));
      else {
        r = new Reader(pair ? await openSocket(b.url, await signIn(b.url, pair)) : await anonymousSocket(b.url));
        onB.push(r);
      }
      await r.join(streamId);
      return r;
    },
    async close() {
      for (const r of onB) r.socket.close();
      await live.close();
      rmSync(dataDir, { recursive: true, force: true });
      await deleteRedisKeys(redisUrl, prefix);
    },
  };
}
