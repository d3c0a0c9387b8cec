import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatModule } from '../../src/chat/ChatModule.ts';
import type { ChatMessage, SignalingServer } from '../../src/index.ts';
import { type LedgerBackend, pgliteBackend, postgresBackend } from '../support/ledgerBackends.ts';
import { type LiveStream, liveStreamModules } from '../support/liveStream.ts';
import { callOk } from '../viewers-support.ts';
import { anonymousSocket, chatOf, Reader, startChatStream } from './support.ts';

const DATABASE_URL = process.env.DATABASE_URL;

const backends: { name: string; skip: boolean; make: () => Promise<LedgerBackend> }[] = [
  { name: 'PGlite (same directory)', skip: false, make: async () => pgliteBackend() },
  { name: 'PostgreSQL (DATABASE_URL)', skip: !DATABASE_URL, make: () => postgresBackend(DATABASE_URL as string) },
];

describe.each(backends)('chat history across a node restart on $name', ({ skip, make }) => {
  let backend: LedgerBackend;
  let live: LiveStream;
  let restarted: SignalingServer;
  let streamId: string;
  let sent: ChatMessage[];

  beforeAll(async () => {
    if (skip) return;
    backend = await make();
    live = await startChatStream({ ledger: backend.config });
    streamId = await live.announceStream(live.wallets.alice, 'Remember me', 1_000_000n);
    const creator = new Reader(await live.open(live.wallets.alice));
    const viewer = new Reader(await live.open(live.wallets.bob));
    await creator.join(streamId);
    await viewer.join(streamId);
    sent = [
      await creator.say(streamId, 'first <i>one</i>'),
      await viewer.say(streamId, 'second', { mediaTime: 61.5 }),
      await viewer.say(streamId, 'third', { clientId: 'c-3' }),
    ];
    await callOk(creator.socket, 'chat:settings', { streamId, slowModeSeconds: 7, payingOnly: true });
    await live.server.close();
    // A new node on the same storage (its stream directory, in memory, starts empty).
    restarted = await live.startServer({
      modules: [
        ...liveStreamModules({ streamsEnv: {}, viewersEnv: {}, ledgerDataDir: 'memory://', ledger: backend.config }),
        chatModule(),
      ],
    });
  });

  afterAll(async () => {
    await live?.close();
    await backend?.dispose();
  });

  it.skipIf(skip)('answers the messages and settings stored before the restart', async () => {
    const socket = await anonymousSocket(restarted.url);
    try {
      expect(await callOk(socket, 'chat:history', { streamId })).toEqual({ ok: true, messages: sent, more: false });
      const older = await callOk(socket, 'chat:history', { streamId, before: sent[2]?.id, limit: 1 });
      expect(older).toEqual({ ok: true, messages: [sent[1]], more: true });
    } finally {
      socket.close();
    }
    const store = chatOf(restarted.modules).store;
    expect(await store.settings(streamId)).toEqual({ slowModeSeconds: 7, payingOnly: true });
    // The sender's retry after the restart finds the message it stored before.
    expect(await store.byClientId(streamId, live.wallets.bob.address, 'c-3')).toEqual(sent[2]);
  });
});
