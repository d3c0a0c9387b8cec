// Viewers behind strict networks, on the real parts: the dev chain, a signaling node with the live-stream modules and
// the `turn` module, mediasoup, and Debian's coturn on loopback. Two paying viewers run as processes of a uid whose
// UDP out of the loopback interface iptables drops (only that uid, only loopback): one plays over ICE-TCP straight
// to the SFU, the other relay-only through TURN (TCP to coturn, UDP from coturn to the SFU). A third viewer on plain
// UDP watches beside them. All three are metered the same: ticks one second each, every one acknowledged with a
// voucher, the ledger closing each session at exactly those seconds.

import { loadMediasoup } from '@persecond/sfu';
import type { types } from 'mediasoup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { turnModule } from '../../src/turn/TurnModule.ts';
import { signIn } from '../support/clients.ts';
import { expectExactTicks, untilTicksStop } from '../support/exactTicks.ts';
import { type LiveStream, startLiveStream } from '../support/liveStream.ts';
import { meterRounds } from '../support/meterRounds.ts';
import { callOk, type Publisher } from '../viewers-support.ts';
import { type Coturn, startCoturn } from './coturnProcess.ts';
import { type BlockedUser, blockLoopbackUdp, loopbackUdpDeliveredFrom, ruleInPlace } from './udpBlock.ts';
import { ViewerProcess } from './viewerProcess.ts';

const PRICE = 1_000_000n;
/** Seconds each viewer must have been ticked before the stream's media stops. */
const TICKED_SECONDS = 4;
const TTL_SECONDS = 600;

describe('viewers whose UDP is blocked (iptables on loopback, their own uid)', () => {
  let user: BlockedUser | undefined;
  let coturn: Coturn | undefined;
  let live: LiveStream | undefined;
  let publisher: Publisher | undefined;
  let streamId: string;
  const children: ViewerProcess[] = [];
  /** The SFU's WebRTC transports of viewers, by session id (mediasoup's observer, set before the workers start). */
  const serverTransports = new Map<string, types.WebRtcTransport>();

  beforeAll(async () => {
    user = blockLoopbackUdp();
    coturn = await startCoturn();
    const mediasoup = await loadMediasoup();
    mediasoup.observer.on('newworker', (w) =>
      w.observer.on('newrouter', (r) =>
        r.observer.on('newtransport', (t) => {
          const { role, viewerId } = t.appData as { role?: string; viewerId?: string };
          if (role === 'viewer' && viewerId) serverTransports.set(viewerId, t as types.WebRtcTransport);
        }),
      ),
    );
    live = await startLiveStream({
      extraModules: [turnModule({ urls: coturn.urls, secret: coturn.secret, ttlSeconds: TTL_SECONDS })],
    });
    const { alice } = live.wallets;
    streamId = await live.announceStream(alice, 'Strict networks', PRICE, { settleEverySeconds: 120 });
    const creator = await live.open(alice);
    await callOk(creator, 'stream:goLive', { streamId });
    publisher = await live.publish(creator, streamId);
  }, 240_000);

  afterAll(async () => {
    for (const c of children) await c.kill();
    publisher?.close();
    await live?.close();
    await coturn?.close();
    user?.remove();
    if (user) expect(ruleInPlace(user.uid)).toBe(false);
  });

  it('drops UDP to loopback from the blocked uid and from nobody else', async () => {
    expect(ruleInPlace(user!.uid)).toBe(true);
    expect(await loopbackUdpDeliveredFrom(user!.uid)).toEqual({ blocked: 0, control: 5 });
  });

  /** A blocked viewer process of `wallet` with a funded session, joined over WebRTC straight to the SFU or relayed. */
  async function blockedViewer(wallet: keyof LiveStream['wallets'], path: 'direct' | 'relay'): Promise<ViewerProcess> {
    const l = live!;
    const pair = l.wallets[wallet];
    const session = l.newSession(pair, streamId);
    await l.fund(pair, session);
    const viewer = new ViewerProcess(
      user!,
      {
        url: l.server.url,
        token: await signIn(l.server.url, pair),
        streamId,
        genesisHash: l.client.facts.genesisHash,
        seed: `0x${Buffer.from(session.key.seed).toString('hex')}`,
        session: session.payload,
        path,
      },
      `${wallet} (${path === 'relay' ? 'TURN' : 'TCP'})`,
    );
    children.push(viewer);
    return viewer;
  }

  it('plays over ICE-TCP and relay-only TURN, each ticked and paid like the UDP viewer', async () => {
    const l = live!;
    const meter = l.viewers().meter;
    const udp = await l.joinRtcViewer(l.wallets.bob, streamId);
    // Given no TURN server (a node without TURN), ICE finds the SFU's TCP candidate; given the TURN servers with
    // policy `all`, libwebrtc may settle on the relay instead, which the relay-only viewer covers.
    const tcp = await blockedViewer('charlie', 'direct');
    const turn = await blockedViewer('dave', 'relay');

    for (const [v, wallet] of [
      [tcp, l.wallets.charlie],
      [turn, l.wallets.dave],
    ] as const) {
      // Signaling handed out the TURN servers with a credential minted for the signed-in wallet.
      const { servers } = (await v.line('iceServers')) as { servers: { urls: string[]; username: string }[] };
      expect(servers).toHaveLength(1);
      expect(servers[0]!.urls).toEqual(coturn!.urls);
      const [expiry, who] = servers[0]!.username.split(':');
      expect(who).toBe(wallet.address);
      expect(Number(expiry) * 1000).toBeGreaterThan(Date.now());
      expect(Number(expiry) * 1000).toBeLessThanOrEqual(Date.now() + TTL_SECONDS * 1000);
      await v.line('consuming');
    }

    // Every viewer decodes video and is ticked, each tick answered with a voucher.
    const ticked = (v: { ticks: readonly unknown[] }) => v.ticks.length >= TICKED_SECONDS;
    const deadline = Date.now() + 120_000;
    for (;;) {
      const [tcpStats, turnStats] = [await tcp.stats(), await turn.stats()];
      const playing =
        tcpStats.frames.video >= 30 &&
        turnStats.frames.video >= 30 &&
        udp.rtc.frames >= 30 &&
        [tcp, turn, udp.viewer].every(ticked);
      if (playing) break;
      if (Date.now() > deadline) {
        throw new Error(
          `not all playing: tcp ${JSON.stringify(tcpStats)} ${tcp.ticks.length} ticks, turn ${JSON.stringify(turnStats)} ` +
            `${turn.ticks.length} ticks, udp ${udp.rtc.frames} frames ${udp.viewer.ticks.length} ticks\n${coturn!.log()}`,
        );
      }
      await meterRounds(meter, 1);
    }

    // The client's selected candidate pair: TCP straight to the SFU (its local side peer-reflexive when the SFU saw
    // the connection from another port than the active candidate's placeholder); a TURN relay reached over TCP.
    const tcpPair = (await tcp.stats()).pair;
    expect(tcpPair?.local.protocol, JSON.stringify(tcpPair)).toBe('tcp');
    expect(['host', 'prflx']).toContain(tcpPair?.local.candidateType);
    expect(tcpPair?.remote).toMatchObject({ candidateType: 'host', protocol: 'tcp' });
    const turnPair = (await turn.stats()).pair;
    expect(turnPair?.local).toMatchObject({ candidateType: 'relay', relayProtocol: 'tcp' });
    expect(turnPair?.remote).toMatchObject({ protocol: 'udp' });

    // The SFU's side of the same paths, and the media it sent over them.
    const [tcpSession, turnSession] = [tcp.sessionId, turn.sessionId];
    const tuple = (id: string) => serverTransports.get(id)?.iceSelectedTuple;
    expect(tuple(udp.viewer.sessionId)).toMatchObject({ protocol: 'udp' });
    expect(tuple(tcpSession)).toMatchObject({ protocol: 'tcp' });
    // Through TURN the SFU sees UDP from coturn's relay address on loopback, a port of coturn's relay range.
    const relayed = tuple(turnSession);
    expect(relayed).toMatchObject({ protocol: 'udp', remoteIp: '127.0.0.1' });
    expect(relayed?.remotePort).toBeGreaterThanOrEqual(coturn!.minPort);
    expect(relayed?.remotePort).toBeLessThanOrEqual(coturn!.maxPort);
    for (const id of [tcpSession, turnSession]) {
      const [stats] = (await serverTransports.get(id)?.getStats()) ?? [];
      expect(stats?.rtpBytesSent).toBeGreaterThan(0);
    }

    // Metered the same: media stops, ticks stop, each leaves; one second per tick, each acknowledged, nothing twice.
    publisher!.close();
    await untilTicksStop(udp.viewer, meter);
    await untilTicksStop(tcp, meter);
    await untilTicksStop(turn, meter);
    await callOk(udp.viewer.socket, 'viewer:leave', {});
    for (const v of [tcp, turn]) expect(await v.leave()).toMatchObject({ ok: true });
    const ledger = l.ledger();
    await expectExactTicks(ledger, udp.viewer, PRICE);
    expect(udp.viewer.saw('tick:refused') + udp.viewer.saw('payment:required')).toBe(0);
    for (const v of [tcp, turn]) {
      expect(v.ticks.length).toBeGreaterThanOrEqual(TICKED_SECONDS);
      expect(v.serverEvents.filter((e) => e.name === 'tick:refused' || e.name === 'payment:required')).toEqual([]);
      await expectExactTicks(ledger, v, PRICE);
    }
  }, 180_000);
});
