// `npm start`: the whole stack on embedded defaults — dev chain, signaling (+ mediasoup workers, Helia),
// indexer (PGlite), dapp — each in its own process group; Ctrl-C stops them all.

import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { SIGNALING_NODE_FLAGS } from '../signaling/src/bin/nodeFlags.ts';
import { findTurnserver, loopbackPortFree, loopbackTurnArgs, loopbackTurnUrls, tcpReachable } from './start/coturn.ts';
import { freePort } from './start/freePort.ts';
import { getJson, rpcCall, waitFor } from './start/health.ts';
import { Service } from './start/Service.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const port = z.coerce.number().int().min(0).max(65535);
const config = z
  .object({
    DEVCHAIN_PORT: port.default(9944),
    SIGNALING_PORT: port.default(8787),
    INDEXER_PORT: port.default(8788),
    DAPP_PORT: port.default(5173),
    HLS_EDGE_PORT: port.default(8789),
    /** RTMP ingest for OBS (rtmp://127.0.0.1:<port>/live, the stream key as stream name). */
    RTMP_PORT: port.default(1935),
    /** coturn on loopback (UDP and TCP), when Debian's coturn is installed and TURN_URLS names no TURN server. */
    TURN_PORT: port.default(3478),
    PERSECOND_DATA_DIR: z.string().default(join(root, '.data')),
    HEALTH_TIMEOUT_MS: z.coerce.number().int().positive().default(60_000),
  })
  .parse(process.env);

/** Resolves port 0 to a free loopback port (vite needs a concrete one to print and to check). */
async function concretePort(p: number): Promise<number> {
  return p !== 0 ? p : freePort();
}

const tsx = (file: string, flags: readonly string[] = []) =>
  [process.execPath, [...flags, '--import', 'tsx', join(root, file)]] as const;
const dataDir = config.PERSECOND_DATA_DIR;
mkdirSync(dataDir, { recursive: true });
// The embedded dev chain starts from genesis every time: what the indexer and the ledger derived from an earlier
// run's chain describes blocks that no longer exist. Content-addressed IPFS data stays.
for (const derived of ['indexer', 'signaling', 'hls']) rmSync(join(dataDir, derived), { recursive: true, force: true });
const baseEnv = { ...process.env, FORCE_COLOR: '0' };
const services: Service[] = [];
let stopping: Promise<void> | undefined;

async function stopAll(code: number): Promise<never> {
  stopping ??= (async () => {
    console.log('\nstopping…');
    await Promise.all(services.map((s) => s.stop()));
    console.log('all services stopped');
  })();
  await stopping;
  process.exit(code);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

function start(name: string, file: string, env: NodeJS.ProcessEnv, flags: readonly string[] = []): Service {
  const [command, args] = tsx(file, flags);
  const s = new Service({ name, command, args: [...args], cwd: root, env: { ...baseEnv, ...env }, readyLine: true });
  services.push(s);
  void s.exited.then((code) => {
    if (!stopping) {
      console.error(`${name} exited unexpectedly (${code ?? 'signal'}); stopping the stack`);
      void stopAll(1);
    }
  });
  return s;
}

/**
 * Debian's coturn on 127.0.0.1 with a secret generated for this run, which signaling mints its clients' credentials
 * under (TURN_URLS, TURN_SECRET): a viewer whose UDP is blocked still plays through it. Not started when coturn is
 * missing or TURN_URLS already names a TURN server (passed through to signaling as it is).
 */
async function startTurn(): Promise<{ url: string; port: number; env: Record<string, string> } | undefined> {
  const command = findTurnserver();
  if (process.env.TURN_URLS || !command) return undefined;
  let turnPort = await concretePort(config.TURN_PORT);
  if (!(await loopbackPortFree(turnPort))) {
    const busy = turnPort;
    turnPort = await freePort();
    console.log(`turn: port ${busy} is taken (a system coturn?), using ${turnPort}`);
  }
  const secret = randomBytes(32).toString('base64url');
  const dir = join(dataDir, 'turn');
  const args = loopbackTurnArgs({ dir, port: turnPort, secret, minPort: 50_000, maxPort: 50_999 });
  const s = new Service({ name: 'turn', command, args, cwd: root, env: baseEnv, readyLine: false });
  services.push(s);
  void s.exited.then((code) => {
    if (!stopping) {
      console.error(`turn exited unexpectedly (${code ?? 'signal'}, log in ${dir}); stopping the stack`);
      void stopAll(1);
    }
  });
  const env = { TURN_URLS: loopbackTurnUrls(turnPort).join(','), TURN_SECRET: secret };
  return { url: `turn:127.0.0.1:${turnPort}`, port: turnPort, env };
}

async function main(): Promise<void> {
  const t0 = Date.now();
  // Ports are fixed up front so that all four services can start at once, each knowing the others' URLs
  // (the RPC clients in signaling and the indexer reconnect until the chain answers).
  const [signalingPort, indexerPort, dappPort, hlsEdgePort, rtmpPort] = await Promise.all(
    [config.SIGNALING_PORT, config.INDEXER_PORT, config.DAPP_PORT, config.HLS_EDGE_PORT, config.RTMP_PORT].map(
      concretePort,
    ),
  );
  const chain = start('chain', 'contracts-client/src/bin/devchain.ts', { DEVCHAIN_PORT: String(config.DEVCHAIN_PORT) });
  // A free port picked here could be taken by another process before the chain binds it (chopsticks would then move to
  // port+1 and the others would talk to a stranger): with DEVCHAIN_PORT=0 the chain binds a free port itself and the
  // others start once it said which.
  const wsUrl =
    config.DEVCHAIN_PORT === 0
      ? (((await chain.ready) as { wsUrl?: string }).wsUrl ?? '')
      : `ws://127.0.0.1:${config.DEVCHAIN_PORT}`;
  const signalingUrl = `http://127.0.0.1:${signalingPort}`;
  const indexerUrl = `http://127.0.0.1:${indexerPort}`;
  const dappUrl = `http://127.0.0.1:${dappPort}`;
  const hlsEdgeUrl = `http://127.0.0.1:${hlsEdgePort}`;
  const rtmpUrl = `rtmp://127.0.0.1:${rtmpPort}/live`;
  const turn = await startTurn();
  const signaling = start(
    'signaling',
    'signaling/src/bin/server.ts',
    {
      ...turn?.env,
      PORT: String(signalingPort),
      CHAIN_WS_URL: wsUrl,
      // Behind a TLS proxy (deploy/nginx/) the dapp's origin is the proxy's public one.
      CORS_ORIGINS: process.env.CORS_ORIGINS || `${dappUrl},http://localhost:${dappPort}`,
      IPFS_DIR: join(dataDir, 'ipfs'),
      SIGNALING_DATA_DIR: join(dataDir, 'signaling'),
      HLS_DIR: join(dataDir, 'hls'),
      // The HLS edge: a child process of signaling that serves playlists and segments to HLS viewers.
      HLS_EDGE_PORT: String(hlsEdgePort),
      // RTMP ingest (OBS's default output), served by signaling itself.
      RTMP_PORT: String(rtmpPort),
    },
    SIGNALING_NODE_FLAGS,
  );
  const indexer = start('indexer', 'indexer/src/bin/indexer.ts', {
    PORT: String(indexerPort),
    CHAIN_WS_URL: wsUrl,
    INDEXER_DATA_DIR: join(dataDir, 'indexer'),
    // Stream metadata comes from signaling's trustless gateway (`/ipfs/:cid`, whichever IPFS backend it uses).
    IPFS_GATEWAY_URL: process.env.IPFS_GATEWAY_URL || signalingUrl,
    // The chain's own finality: chopsticks finalizes each block as it builds it, and builds blocks only for
    // transactions, so extra confirmations would keep the last settlement pending until someone else pays (issue 16).
    INDEXER_FINALITY_DEPTH: process.env.INDEXER_FINALITY_DEPTH ?? '0',
  });
  const vite = join(root, 'node_modules', 'vite', 'bin', 'vite.js');
  const dapp = new Service({
    name: 'dapp',
    command: process.execPath,
    args: [vite, 'dev', '--host', '127.0.0.1', '--port', String(dappPort), '--strictPort'],
    cwd: join(root, 'dapp'),
    env: {
      ...baseEnv,
      // Browsers reach signaling and the chain at these; behind a TLS proxy (deploy/nginx/), at the proxy's public URLs.
      PUBLIC_SIGNALING_URL: process.env.PUBLIC_SIGNALING_URL || signalingUrl,
      PUBLIC_INDEXER_URL: indexerUrl,
      PUBLIC_CHAIN_WS_URL: process.env.PUBLIC_CHAIN_WS_URL || wsUrl,
    },
    readyLine: false,
  });
  services.push(dapp);
  void dapp.exited.then((code) => {
    if (!stopping) {
      console.error(`dapp exited unexpectedly (${code ?? 'signal'}); stopping the stack`);
      void stopAll(1);
    }
  });
  const [chainReady] = (await Promise.all([chain.ready, signaling.ready, indexer.ready])) as { wsUrl?: string }[];
  // chopsticks silently moves to port+1 when the port is taken; the other services would then talk to a stranger.
  if (chainReady?.wsUrl !== wsUrl)
    throw new Error(`port ${config.DEVCHAIN_PORT} is busy (the chain came up on ${chainReady?.wsUrl})`);

  const timeout = config.HEALTH_TIMEOUT_MS;
  const [chainName] = await Promise.all([
    waitFor('chain', () => rpcCall(wsUrl, 'system_chain'), timeout),
    waitFor('signaling', () => getJson(`${signalingUrl}/healthz`), timeout),
    waitFor('hls edge', () => getJson(`${hlsEdgeUrl}/healthz`), timeout),
    waitFor('indexer', () => getJson(`${indexerUrl}/healthz`), timeout),
    waitFor('dapp', () => getJson(`${dappUrl}/healthz`), timeout),
    ...(turn ? [waitFor('turn', () => tcpReachable(turn.port), timeout)] : []),
  ]);
  const { DEV_ACCOUNTS, DEV_ASSET } = await import('@persecond/contracts-client');
  const seconds = ((Date.now() - t0) / 1000).toFixed(1);
  const lines = [
    '',
    `Persecond is running (healthy in ${seconds} s). Ctrl-C stops everything.`,
    '',
    `  dapp        ${dappUrl}`,
    `  signaling   ${signalingUrl}   (health ${signalingUrl}/healthz, metrics ${signalingUrl}/metrics)`,
    `  hls edge    ${hlsEdgeUrl}   (HLS segments, a child of signaling; health ${hlsEdgeUrl}/healthz)`,
    `  rtmp ingest ${rtmpUrl}   (OBS: Service Custom, this Server, a stream key from the studio)`,
    `  indexer     ${indexerUrl}   (status ${indexerUrl}/v1/status)`,
    turn
      ? `  turn        ${turn.url}   (coturn, UDP and TCP; credentials minted by signaling)`
      : `  turn        ${process.env.TURN_URLS ? process.env.TURN_URLS : 'off (install coturn for viewers behind UDP-blocking networks)'}`,
    `  chain       ${wsUrl}   (${String(chainName)}, chopsticks)`,
    `  data        ${dataDir}`,
    '',
    `  Funded dev accounts (1,000,000 ROC and 1,000,000 ${DEV_ASSET.symbol} = asset ${DEV_ASSET.id} each; seed //Name):`,
    ...Object.entries(DEV_ACCOUNTS).map(([name, address]) => `    ${name.padEnd(8)} ${address}`),
    '',
  ];
  console.log(lines.join('\n'));
  if (process.env.PERSECOND_START_JSON) {
    console.log(
      JSON.stringify({
        event: 'stack-ready',
        seconds: Number(seconds),
        dapp: dappUrl,
        signaling: signalingUrl,
        hlsEdge: hlsEdgeUrl,
        rtmp: rtmpUrl,
        indexer: indexerUrl,
        turn: turn?.url ?? null,
        chain: wsUrl,
        pids: services.map((s) => s.pid),
      }),
    );
  }
}

main().catch((err: Error) => {
  console.error(`npm start failed: ${err.message}`);
  void stopAll(1);
});
