// A signaling node on the real parts, as the chain-level tests start it: the dev chain (chopsticks), one mediasoup
// worker, embedded Helia and HLS output in temporary folders, and the server with the modules under test.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ChainClient, connect, type DevChain, startDevChain, TxSubmitter } from '@persecond/contracts-client';
import { loadSfuConfig, Sfu } from '@persecond/sfu';
import {
  createPinner,
  createSignalingServer,
  loadSignalingConfig,
  type Pinner,
  type SignalingDeps,
  type SignalingServer,
} from '../../src/index.ts';

/** What startSignalingStack() started; `close()` stops all of it. */
export interface SignalingStack {
  readonly chain: DevChain;
  readonly client: ChainClient;
  readonly submitter: TxSubmitter;
  readonly sfu: Sfu;
  readonly pinner: Pinner;
  readonly server: SignalingServer;
  /** Starts another server on the same chain, SFU and pinner, with `env` over a free port and silent logs. */
  startServer(server: Pick<SignalingDeps, 'modules' | 'handlers'>, env?: NodeJS.ProcessEnv): Promise<SignalingServer>;
  /** Closes the servers, then the parts it runs on, and removes the temporary folders; safe to call twice. */
  close(): Promise<void>;
}

/** The HLS ladder of the test stacks unless a test asks for another: one rendition, as before ladders. */
const SINGLE_RENDITION_LADDER = 'high:720:2500';

/** Options of startSignalingStack(). */
export interface SignalingStackOptions {
  /** Modules and extra handlers of the server. */
  server: Pick<SignalingDeps, 'modules' | 'handlers'>;
  /**
   * Sfu environment over one worker, silent logs, a temporary HLS_DIR, an HLS ladder of one rendition (a single
   * media playlist, which the tests' plain HTTP players read; tests of the ladder set `HLS_LADDER`) and no live
   * thumbnails (an extra transport and ffmpeg per room; tests of thumbnails set `THUMBNAIL_INTERVAL_SECONDS`).
   */
  sfuEnv?: Record<string, string>;
  /** Environment of the server (e.g. REDIS_URL), over a free port and silent logs. */
  env?: NodeJS.ProcessEnv;
  /**
   * The chain client the servers are given (default: the stack's own `client`), e.g. one connected through a proxy
   * that a fault test cuts; closed with the stack.
   */
  serverChain?: (chain: DevChain) => Promise<ChainClient>;
}

/** Starts the dev chain, the SFU, the pinner and a signaling server on a free port; on a failure, stops what started. */
export async function startSignalingStack(opts: SignalingStackOptions): Promise<SignalingStack> {
  const ipfsDir = mkdtempSync(join(tmpdir(), 'persecond-ipfs-'));
  const hlsDir = mkdtempSync(join(tmpdir(), 'persecond-hls-'));
  const closers: (() => Promise<unknown> | undefined)[] = [
    async () => {
      rmSync(ipfsDir, { recursive: true, force: true });
      rmSync(hlsDir, { recursive: true, force: true });
    },
  ];
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      for (const closer of closers.reverse()) await closer();
    })();
    return closed;
  };
  try {
    const chain = await startDevChain();
    closers.push(() => chain.close());
    const client = await connect(chain.wsUrl);
    closers.push(() => client.close());
    let serverClient = client;
    if (opts.serverChain) {
      const own = await opts.serverChain(chain);
      closers.push(() => own.close());
      serverClient = own;
    }
    const pinner = await createPinner({ backend: 'helia', dir: ipfsDir });
    closers.push(() => pinner.close());
    const sfu = await Sfu.create(
      loadSfuConfig({
        SFU_NUM_WORKERS: '1',
        LOG_LEVEL: 'silent',
        HLS_DIR: hlsDir,
        HLS_LADDER: SINGLE_RENDITION_LADDER,
        THUMBNAIL_INTERVAL_SECONDS: '0',
        // Each recorded stream keeps an HLS relay (an x264 encoder) running: only tests that ask record.
        RECORDING: 'off',
        ...opts.sfuEnv,
      }),
    );
    closers.push(() => sfu.close());
    const startServer: SignalingStack['startServer'] = async (server, env = {}) => {
      const config = loadSignalingConfig({ PORT: '0', LOG_LEVEL: 'silent', ...env });
      const started = await createSignalingServer(config, { sfu, pinner, chain: serverClient, ...server });
      closers.push(() => started.close());
      return started;
    };
    const server = await startServer(opts.server, opts.env);
    return { chain, client, submitter: new TxSubmitter(client.api), sfu, pinner, server, startServer, close };
  } catch (err) {
    await close();
    throw err;
  }
}
