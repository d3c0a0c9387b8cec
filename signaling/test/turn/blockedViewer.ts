// A paying WebRTC viewer as a process of its own, so that the test can run it under a uid whose UDP to loopback the
// firewall drops (udpBlocked.test.ts). It joins with the session the test funded, acknowledges every tick with a
// signed voucher (as the dapp does), builds its receive transport with the TURN servers signaling handed out, and
// answers the test on stdout: one JSON line per event. Commands come on stdin, one JSON line each.
import { createInterface } from 'node:readline';
import { createSessionKey, signJoinProof, signVoucher } from '@persecond/contracts-client/browser';
import { hexToU8a } from '@polkadot/util';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import type { types } from 'mediasoup-client';
import { io } from 'socket.io-client';
import { countFrames, loadDevice, type MediaKind } from '../../../sfu/test/helpers/nodeWebrtc.ts';

/** What the test sends first. */
export interface ViewerSetup {
  url: string;
  /** The wallet's sign-in token. */
  token: string;
  streamId: string;
  genesisHash: string;
  /** Seed of the session key (hex): the child signs the join proof and the vouchers with it. */
  seed: string;
  /** The `session` field of `viewer:join` (delegation signed and funded by the test). */
  session: { sessionId: string } & Record<string, unknown>;
  /**
   * `relay`: the TURN servers signaling handed out, relay candidates only (iceTransportPolicy `relay`); `direct`: no
   * TURN server, so ICE can only reach the SFU straight (over TCP, when UDP is blocked).
   */
  path: 'direct' | 'relay';
}

/** The candidate pair ICE selected, from the client's getStats. */
export interface SelectedPair {
  local: { candidateType?: string; protocol?: string; relayProtocol?: string; port?: number };
  remote: { candidateType?: string; protocol?: string; port?: number };
}

type Ack = { ok: boolean; code?: string; message?: string; [key: string]: unknown };

const say = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(line)}\n`);
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

async function nextLine(): Promise<Record<string, unknown>> {
  const { value, done } = await lines.next();
  if (done) process.exit(0);
  return JSON.parse(value) as Record<string, unknown>;
}

/** The selected pair of the transport's peer connection (standard stats: transport → candidate-pair → candidates). */
function selectedPair(report: RTCStatsReportLike): SelectedPair | undefined {
  const all = [...report.values()] as Record<string, unknown>[];
  const transport = all.find((s) => s.type === 'transport' && typeof s.selectedCandidatePairId === 'string');
  const pair =
    all.find((s) => s.id === transport?.selectedCandidatePairId) ??
    all.find((s) => s.type === 'candidate-pair' && s.nominated === true && s.state === 'succeeded');
  if (!pair) return undefined;
  const local = all.find((s) => s.id === pair.localCandidateId) ?? {};
  const remote = all.find((s) => s.id === pair.remoteCandidateId) ?? {};
  const pick = (s: Record<string, unknown>, keys: string[]) =>
    Object.fromEntries(keys.filter((k) => s[k] !== undefined).map((k) => [k, s[k]]));
  return {
    local: pick(local, ['candidateType', 'protocol', 'relayProtocol', 'port']),
    remote: pick(remote, ['candidateType', 'protocol', 'port']),
  } as SelectedPair;
}

type RTCStatsReportLike = { values(): IterableIterator<unknown> };

async function main(): Promise<void> {
  await cryptoWaitReady();
  const setup = (await nextLine()) as unknown as ViewerSetup;
  const key = createSessionKey(42, hexToU8a(setup.seed));
  const { sessionId } = setup.session;
  const socket = io(setup.url, { transports: ['websocket'], reconnection: false, auth: { token: setup.token } });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  const call = (event: string, payload: unknown): Promise<Ack> =>
    new Promise((resolve) => socket.emit(event, payload, resolve));
  const callOk = async (event: string, payload: unknown): Promise<Ack> => {
    const res = await call(event, payload);
    if (!res.ok) throw new Error(`${event} refused: ${res.code} ${res.message}`);
    return res;
  };
  socket.on('tick', (t: { seq: number; owed: string }) => {
    const signature = signVoucher(key, {
      genesisHash: setup.genesisHash,
      streamId: setup.streamId,
      sessionId,
      seq: t.seq,
      owed: BigInt(t.owed),
    });
    socket.emit('tick:ack', { seq: t.seq, owed: t.owed, signature });
    say({ event: 'tick', tick: t });
  });
  for (const name of ['tick:refused', 'payment:required', 'media:paused', 'stream:ended', 'viewer:released']) {
    socket.on(name, (payload: unknown) => say({ event: 'server', name, payload }));
  }

  const proof = signJoinProof(key, {
    genesisHash: setup.genesisHash,
    streamId: setup.streamId,
    sessionId,
    socketId: socket.id ?? '',
  });
  await callOk('viewer:join', {
    streamId: setup.streamId,
    mode: 'webrtc',
    session: { ...setup.session, proof },
  });
  const caps = await callOk('rtc:capabilities', { streamId: setup.streamId });
  const device = await loadDevice(caps.routerRtpCapabilities);
  const created = (await callOk('rtc:createTransport', { streamId: setup.streamId, direction: 'recv' })) as Ack & {
    transport: types.TransportOptions;
    iceServers?: { urls: string[]; username: string; credential: string }[];
  };
  // Only the user names: the credentials stay in this process.
  say({
    event: 'iceServers',
    servers: (created.iceServers ?? []).map((s) => ({ urls: s.urls, username: s.username })),
  });
  const recv = device.createRecvTransport({
    ...created.transport,
    // The shapes of RTCIceServer and RTCIceTransportPolicy (DOM types this repo does not load).
    iceServers: (setup.path === 'relay' ? (created.iceServers ?? []) : []) as never,
    iceTransportPolicy: (setup.path === 'relay' ? 'relay' : 'all') as never,
  });
  recv.on('connect', ({ dtlsParameters }, ok, fail) => {
    callOk('rtc:connectTransport', { transportId: recv.id, dtlsParameters }).then(() => ok(), fail);
  });
  recv.on('connectionstatechange', (state) => say({ event: 'connection', state }));

  const frames: Record<MediaKind, number> = { video: 0, audio: 0 };
  const sinks: { stop(): void }[] = [];
  const { consumers } = (await callOk('rtc:consume', {
    transportId: recv.id,
    rtpCapabilities: device.rtpCapabilities,
  })) as Ack & { consumers: { id: string; producerId: string; kind: MediaKind; rtpParameters: never }[] };
  for (const c of consumers) {
    const consumer = await recv.consume(c);
    sinks.push(
      countFrames(consumer.track, c.kind, () => {
        frames[c.kind]++;
      }),
    );
    await callOk('rtc:resume', { consumerId: c.id });
  }
  say({ event: 'consuming', kinds: consumers.map((c) => c.kind) });

  for (;;) {
    const cmd = await nextLine();
    if (cmd.cmd === 'stats') {
      const pair = selectedPair((await recv.getStats()) as RTCStatsReportLike);
      say({ event: 'stats', frames, pair: pair ?? null, connectionState: recv.connectionState });
    } else if (cmd.cmd === 'leave') {
      const left = await call('viewer:leave', {});
      say({ event: 'left', ack: left });
      for (const s of sinks) s.stop();
      recv.close();
      socket.close();
      process.exit(0);
    }
  }
}

main().catch((err: Error) => {
  say({ event: 'error', message: err.message });
  process.exit(1);
});
