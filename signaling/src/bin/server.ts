#!/usr/bin/env -S node --import tsx
// Signaling process for `npm start`: prints one JSON line `{"event":"ready","url":...}` on stdout when serving.
import { pino } from 'pino';
import { loadSignalingConfig } from '../config.ts';
import { LOG_REDACTION } from '../logRedaction.ts';
import { createSignalingServer } from '../SignalingServer.ts';

const config = loadSignalingConfig();
const log = pino({ name: 'signaling', level: config.LOG_LEVEL, redact: LOG_REDACTION }, pino.destination(2));
const server = await createSignalingServer(config, { logger: log });
process.stdout.write(`${JSON.stringify({ event: 'ready', url: server.url, workers: server.sfu.health().workers })}\n`);

let stopping = false;
const stop = async (signal: string): Promise<void> => {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'stopping signaling');
  // The mediasoup workers share our process group and exit on the same signal: not a crash to recover from.
  server.sfu.expectShutdown();
  await server.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
