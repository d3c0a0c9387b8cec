#!/usr/bin/env -S node --import tsx
// The indexer process: `indexer [--from <block>]`. Prints one JSON ready line on stdout; logs go to stderr.
import { parseArgs } from 'node:util';
import { loadIndexerConfig } from '../config.ts';
import { startIndexer } from '../Indexer.ts';
import { createLogger } from '../logger.ts';

const { values } = parseArgs({ options: { from: { type: 'string' } }, strict: true });
const config = loadIndexerConfig(
  values.from === undefined ? process.env : { ...process.env, INDEXER_FROM_BLOCK: values.from },
);
const logger = createLogger(config.LOG_LEVEL);

try {
  const indexer = await startIndexer(config, { logger });
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    indexer.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'close failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdout.write(`${JSON.stringify({ event: 'ready', url: indexer.url })}\n`);
} catch (err) {
  logger.fatal({ err }, 'indexer failed to start');
  process.exit(1);
}
