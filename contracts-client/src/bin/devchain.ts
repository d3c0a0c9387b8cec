#!/usr/bin/env -S node --import tsx
// Dev chain process for `npm start`: prints one JSON line `{"event":"ready",...}` on stdout when it serves RPC.
import { pino } from 'pino';
import { loadDevChainConfig } from '../config.ts';
import { startDevChain } from '../devchain/DevChain.ts';

const config = loadDevChainConfig();
const log = pino({ name: 'devchain', level: config.LOG_LEVEL }, pino.destination(2));

const chain = await startDevChain({ port: config.DEVCHAIN_PORT, mode: config.DEVCHAIN_MODE });
const asset = { ...chain.asset, minBalance: chain.asset.minBalance.toString() };
process.stdout.write(`${JSON.stringify({ event: 'ready', wsUrl: chain.wsUrl, accounts: chain.accounts, asset })}\n`);
log.info({ wsUrl: chain.wsUrl }, 'dev chain ready');

let stopping = false;
const stop = async (signal: string): Promise<void> => {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'stopping dev chain');
  await chain.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
