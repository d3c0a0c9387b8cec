/**
 * The environment of `npm start` on its embedded defaults (no PostgreSQL or Redis, even where CI sets them), every
 * service on a free port and `dataDir` as its data directory, printing its stack-ready line as JSON: how the tests
 * and benches that start the whole stack run it.
 */
export function embeddedStartEnv(dataDir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const { DATABASE_URL: _db, REDIS_URL: _redis, ...inherited } = process.env;
  return {
    ...inherited,
    DEVCHAIN_PORT: '0',
    SIGNALING_PORT: '0',
    INDEXER_PORT: '0',
    DAPP_PORT: '0',
    HLS_EDGE_PORT: '0',
    RTMP_PORT: '0',
    TURN_PORT: '0',
    PERSECOND_DATA_DIR: dataDir,
    PERSECOND_START_JSON: '1',
    ...extra,
  };
}
