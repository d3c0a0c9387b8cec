// The stage on the real parts (dev chain, mediasoup, libwebrtc peers in Node, real socket.io clients): only a role
// that may publish gets a send transport or produces (a stranger, a viewer, a waiting or rejected asker, a guest
// taken off the stage are refused NOT_ON_STAGE, each request fuzzed over the others' transports and producers); a
// viewer asks, the host approves, the guest publishes camera, microphone and a screen, a third viewer decodes both
// cameras, the host force-mutes and removes the guest; and a paying viewer on stage is not ticked, then is again from
// the next second after stepping down (its count carries on with no jump).
import { setTimeout as sleep } from 'node:timers/promises';
import type { KeyringPair } from '@polkadot/keyring/types';
import fc from 'fast-check';
import type { types } from 'mediasoup-client';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { countFrames, loadDevice, startTestMedia, type TestMedia } from '../../../sfu/test/helpers/nodeWebrtc.ts';
import { protocolAddress } from '../../src/accounts.ts';
import { stageModule } from '../../src/stage/StageModule.ts';
import { type LiveStream, startLiveStream } from '../support/liveStream.ts';
import { type AckJson, call, callOk, type Publisher } from '../viewers-support.ts';

const PRICE = 1_000n;

/** A send transport that names each producer's source (`appData.source`) in `rtc:produce`, as a stage client does. */
async function openStageSend(socket: Socket, streamId: string): Promise<types.Transport> {
  const caps = await callOk(socket, 'rtc:capabilities', { streamId });
  const device = await loadDevice(caps.routerRtpCapabilities);
  const { transport: params } = (await callOk(socket, 'rtc:createTransport', { streamId, direction: 'send' })) as {
    transport: never;
  } & AckJson;
  const send = device.createSendTransport(params);
  send.on('connect', ({ dtlsParameters }, ok, fail) => {
    callOk(socket, 'rtc:connectTransport', { transportId: send.id, dtlsParameters }).then(() => ok(), fail);
  });
  send.on('produce', ({ kind, rtpParameters, appData }, ok, fail) => {
    callOk(socket, 'rtc:produce', { transportId: send.id, kind, rtpParameters, source: appData.source }).then(
      (res) => ok({ id: res.producerId as string }),
      fail,
    );
  });
  return send;
}

/** An admitted WebRTC viewer's receive side that counts decoded video frames per producer. */
async function watchEachProducer(
  socket: Socket,
  streamId: string,
): Promise<{ frames: Map<string, number>; close(): void }> {
  const caps = await callOk(socket, 'rtc:capabilities', { streamId });
  const device = await loadDevice(caps.routerRtpCapabilities);
  const { transport: params } = (await callOk(socket, 'rtc:createTransport', { streamId, direction: 'recv' })) as {
    transport: never;
  } & AckJson;
  const recv = device.createRecvTransport(params);
  recv.on('connect', ({ dtlsParameters }, ok, fail) => {
    callOk(socket, 'rtc:connectTransport', { transportId: recv.id, dtlsParameters }).then(() => ok(), fail);
  });
  const frames = new Map<string, number>();
  const sinks: { stop(): void }[] = [];
  const { consumers } = (await callOk(socket, 'rtc:consume', {
    transportId: recv.id,
    rtpCapabilities: device.rtpCapabilities,
  })) as { consumers: { id: string; producerId: string; kind: 'audio' | 'video'; rtpParameters: never }[] } & AckJson;
  for (const c of consumers) {
    const consumer = await recv.consume(c);
    if (c.kind === 'video') {
      frames.set(c.producerId, 0);
      sinks.push(
        countFrames(consumer.track, 'video', () => frames.set(c.producerId, (frames.get(c.producerId) ?? 0) + 1)),
      );
    }
    await callOk(socket, 'rtc:resume', { consumerId: c.id });
  }
  return {
    frames,
    close() {
      for (const s of sinks) s.stop();
      recv.close();
    },
  };
}

/** Collects the server events named `names` a socket receives. */
function record(socket: Socket, names: string[]): { name: string; payload: unknown }[] {
  const seen: { name: string; payload: unknown }[] = [];
  for (const name of names) socket.on(name, (payload: unknown) => seen.push({ name, payload }));
  return seen;
}

describe('stage: roles, guest requests, host controls, no charge on stage', () => {
  let live: LiveStream;
  let streamId: string;
  let host: Socket;
  let hostPublisher: Publisher;
  const media: TestMedia[] = [];
  const closers: { close(): void }[] = [];

  const room = () => {
    const r = live.sfu.getRoom(streamId);
    if (!r) throw new Error('the stream has no room');
    return r;
  };
  const producersOf = (wallet: KeyringPair) =>
    room().producers.filter((p) => p.participantId === protocolAddress(wallet.address));
  const stage = (socket: Socket, event: string, payload: Record<string, unknown> = {}): Promise<AckJson> =>
    call(socket, event, { streamId, ...payload });

  beforeAll(async () => {
    live = await startLiveStream({
      extraModules: [stageModule()],
      // Nobody settles here: the payment windows stay far away so only the stage starts and stops ticks.
      viewersEnv: { SETTLE_EVERY_SECONDS: '600', PAYMENT_GRACE_SECONDS: '600', VOUCHER_VERIFY_INTERVAL_MS: '200' },
    });
    streamId = await live.announceStream(live.wallets.alice, 'Stage', PRICE);
    host = await live.open(live.wallets.alice);
    await callOk(host, 'stream:goLive', { streamId });
    hostPublisher = await live.publish(host, streamId, ['video', 'audio']);
  });

  afterAll(async () => {
    for (const c of closers.reverse()) c.close();
    for (const m of media) m.stop();
    await live?.close();
  });

  it('refuses a send transport, a producer and a pause to every role that may not publish, leaking nothing', async () => {
    const { bob, charlie, dave } = live.wallets;
    const stranger = await live.open(charlie);
    const { viewer } = await live.joinRtcViewer(bob, streamId);
    const asker = await live.open(dave);
    expect(await stage(asker, 'stage:request')).toMatchObject({ ok: true, stage: { you: 'viewer' } });
    const before = await room().originRouter.dump();
    const hostTransport = before.transportIds.find((id) => room().transportOwner(id) === 'host') as string;
    expect(hostTransport).toBeDefined();
    const hostProducer = hostPublisher.producerIds[0] as string;

    const refusals: AckJson[] = [];
    for (const socket of [stranger, viewer.socket, asker]) {
      refusals.push(await call(socket, 'rtc:createTransport', { streamId, direction: 'send' }));
      refusals.push(await call(socket, 'rtc:setProducerPaused', { streamId, producerId: hostProducer, paused: true }));
      // Someone else's transport (the host's), a made-up one, odd kinds and sources: never a producer.
      for (const transportId of [hostTransport, 'not-a-transport', '']) {
        for (const extra of [{}, { source: 'screen' }, { source: 'projector' }, { kind: 'data' }]) {
          const res = await call(socket, 'rtc:produce', { transportId, kind: 'video', rtpParameters: {}, ...extra });
          expect(res).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
        }
      }
      // Host controls are refused to them too.
      for (const [event, payload] of [
        ['stage:answer', { wallet: dave.address, approve: true }],
        ['stage:mute', { wallet: dave.address, source: 'camera', muted: true }],
        ['stage:remove', { wallet: dave.address }],
      ] as const) {
        expect(await stage(socket, event, payload)).toMatchObject({ ok: false, code: 'NOT_STAGE_HOST' });
      }
      expect(await stage(socket, 'stage:setRole', { wallet: dave.address, role: 'co-host' })).toMatchObject({
        ok: false,
        code: 'NOT_CREATOR',
      });
    }
    for (const res of refusals) expect(res).toMatchObject({ ok: false, code: 'NOT_ON_STAGE' });

    // Fuzzed: any of them, any media request, any mix of real and made-up ids and fields: refused with a stable code.
    const id = fc.constantFrom(hostTransport, hostProducer, 'not-an-id', '', 'x'.repeat(65), 5, null);
    const request = fc.oneof(
      fc.record({
        event: fc.constant('rtc:createTransport'),
        body: fc.record({
          streamId: fc.constantFrom(streamId, 'stream-0001'),
          direction: fc.constantFrom('send', 'sideways'),
        }),
      }),
      fc.record({
        event: fc.constant('rtc:produce'),
        body: fc.record({
          transportId: id,
          kind: fc.constantFrom('video', 'audio', 'data'),
          rtpParameters: fc.constantFrom({}, { codecs: [] }),
          source: fc.constantFrom('camera', 'screen', 'projector', undefined),
        }),
      }),
      fc.record({
        event: fc.constant('rtc:connectTransport'),
        body: fc.record({ transportId: id, dtlsParameters: fc.constantFrom({}, { role: 'client', fingerprints: [] }) }),
      }),
      fc.record({
        event: fc.constant('rtc:setProducerPaused'),
        body: fc.record({ streamId: fc.constantFrom(streamId), producerId: id, paused: fc.boolean() }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(stranger, viewer.socket, asker), request, async (socket, { event, body }) => {
        const res = await call(socket, event, body);
        expect(res.ok).toBe(false);
        expect(['NOT_ON_STAGE', 'BAD_REQUEST', 'STREAM_NOT_FOUND']).toContain(res.code);
      }),
      { numRuns: 300 },
    );

    // A rejected asker stays a viewer.
    expect(await stage(host, 'stage:answer', { wallet: dave.address, approve: false })).toEqual({ ok: true });
    expect(await call(asker, 'rtc:createTransport', { streamId, direction: 'send' })).toMatchObject({
      ok: false,
      code: 'NOT_ON_STAGE',
    });
    // No transport was added to the router, and the host's producers were neither taken nor paused.
    const after = await room().originRouter.dump();
    expect([...after.transportIds].sort()).toEqual([...before.transportIds].sort());
    expect(room().producers.map((p) => p.participantId)).toEqual(['host', 'host']);
    expect(room().producers.every((p) => !p.paused)).toBe(true);
    await callOk(viewer.socket, 'viewer:leave', {});
  });

  it('does not tick a paying guest while on stage, and ticks it again from the next second after it steps down', async () => {
    const { eve } = live.wallets;
    const { viewer } = await live.joinRtcViewer(eve, streamId);
    const roles = record(viewer.socket, ['stage:role']);
    await vi.waitFor(() => expect(viewer.ticks.length).toBeGreaterThanOrEqual(3), { timeout: 30_000, interval: 100 });

    await callOk(viewer.socket, 'stage:request', { streamId });
    await callOk(host, 'stage:answer', { streamId, wallet: eve.address, approve: true });
    await vi.waitFor(() =>
      expect(roles).toContainEqual({ name: 'stage:role', payload: { streamId, role: 'guest', reason: 'approved' } }),
    );
    // A round that was probed before the approval may still deliver its tick.
    await sleep(1_500);
    const onStage = viewer.ticks.length;
    const owedOnStage = live.viewers().viewer(viewer.sessionId)?.owed;
    await sleep(4_000);
    expect(viewer.ticks.length).toBe(onStage);
    expect(live.viewers().viewer(viewer.sessionId)?.owed).toBe(owedOnStage);
    // Media still reaches it: it watches the stage for free.
    expect(live.viewers().viewer(viewer.sessionId)?.connected).toBe(true);

    await callOk(viewer.socket, 'stage:leave', { streamId });
    await vi.waitFor(() => expect(viewer.ticks.length).toBeGreaterThanOrEqual(onStage + 2), {
      timeout: 20_000,
      interval: 100,
    });
    // Its count carries on where it stopped: one second per tick, no lump for the time on stage.
    viewer.ticks.forEach((t, i) => {
      expect(t).toMatchObject({ seq: i + 1, watchedSeconds: i + 1, owed: (BigInt(i + 1) * PRICE).toString() });
    });
    expect(roles.at(-1)).toEqual({ name: 'stage:role', payload: { streamId, role: 'viewer', reason: 'left' } });
    await callOk(viewer.socket, 'viewer:leave', {});
  });

  it('takes a guest on stage: request, approval, camera, microphone and screen, seen by a third viewer; force-mute; removal', async () => {
    const { ferdie, charlie } = live.wallets;
    const { viewer: guest } = await live.joinRtcViewer(ferdie, streamId);
    const hostEvents = record(host, ['stage:requests', 'stage:members']);
    const guestEvents = record(guest.socket, ['stage:role', 'stage:members']);

    const asked = await callOk(guest.socket, 'stage:request', { streamId });
    expect(asked.stage).toMatchObject({ you: 'viewer', requests: [], members: [{ role: 'host' }] });
    const ferdieAddress = protocolAddress(ferdie.address);
    await vi.waitFor(() =>
      expect(hostEvents.filter((e) => e.name === 'stage:requests').at(-1)?.payload).toMatchObject({
        requests: [{ wallet: ferdieAddress }],
      }),
    );
    expect((await callOk(host, 'stage:state', { streamId })).stage).toMatchObject({
      you: 'host',
      requests: [{ wallet: ferdieAddress }],
    });
    await callOk(host, 'stage:answer', { streamId, wallet: ferdie.address, approve: true });
    await vi.waitFor(() =>
      expect(guestEvents).toContainEqual({
        name: 'stage:role',
        payload: { streamId, role: 'guest', reason: 'approved' },
      }),
    );

    // The guest publishes on its own transport: camera, microphone, then a screen as its own producer.
    const send = await openStageSend(guest.socket, streamId);
    closers.push(send);
    const camera = startTestMedia();
    const screen = startTestMedia();
    media.push(camera, screen);
    const cameraProducer = await send.produce({ track: camera.tracks.video as never, appData: { source: 'camera' } });
    const micProducer = await send.produce({ track: camera.tracks.audio as never, appData: { source: 'microphone' } });
    await send.produce({ track: screen.tracks.video as never, appData: { source: 'screen' } });
    expect(producersOf(ferdie).map((p) => [p.kind, p.source])).toEqual([
      ['video', 'camera'],
      ['audio', 'microphone'],
      ['video', 'screen'],
    ]);
    await vi.waitFor(() => {
      const members = hostEvents.filter((e) => e.name === 'stage:members').at(-1)?.payload as
        | { members: { wallet: string; role: string; producers: unknown[] }[] }
        | undefined;
      expect(members?.members.find((m) => m.wallet === ferdieAddress)).toMatchObject({
        role: 'guest',
        producers: [{}, {}, {}],
      });
    });

    // A third viewer decodes the host's camera and the guest's.
    const third = await live.open(charlie);
    const session = live.newSession(charlie, streamId);
    await live.fund(charlie, session);
    await callOk(third, 'viewer:join', { streamId, mode: 'webrtc', session: session.payload });
    const watching = await watchEachProducer(third, streamId);
    closers.push(watching);
    const hostCamera = hostPublisher.producerIds[0] as string;
    await vi.waitFor(
      () => {
        expect(watching.frames.get(hostCamera)).toBeGreaterThan(10);
        expect(watching.frames.get(cameraProducer.id)).toBeGreaterThan(10);
      },
      { timeout: 20_000, interval: 100 },
    );

    // Force-mute: the guest's microphone pauses and the guest cannot resume it until the host lifts it.
    await callOk(host, 'stage:mute', { streamId, wallet: ferdie.address, source: 'microphone', muted: true });
    expect(producersOf(ferdie).find((p) => p.id === micProducer.id)?.paused).toBe(true);
    expect(
      await call(guest.socket, 'rtc:setProducerPaused', { streamId, producerId: micProducer.id, paused: false }),
    ).toMatchObject({ ok: false, code: 'FORCE_MUTED' });
    // The guest pauses and resumes its own camera, never the host's.
    expect(
      await call(guest.socket, 'rtc:setProducerPaused', { streamId, producerId: cameraProducer.id, paused: true }),
    ).toEqual({ ok: true });
    expect(
      await call(guest.socket, 'rtc:setProducerPaused', { streamId, producerId: cameraProducer.id, paused: false }),
    ).toEqual({ ok: true });
    expect(
      await call(guest.socket, 'rtc:setProducerPaused', { streamId, producerId: hostCamera, paused: true }),
    ).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    await callOk(host, 'stage:mute', { streamId, wallet: ferdie.address, source: 'microphone', muted: false });
    expect(
      await call(guest.socket, 'rtc:setProducerPaused', { streamId, producerId: micProducer.id, paused: false }),
    ).toEqual({ ok: true });

    // Removal: its producers and transport close at once, and it may not publish again.
    await callOk(host, 'stage:remove', { streamId, wallet: ferdie.address });
    expect(producersOf(ferdie)).toEqual([]);
    expect(room().publisherTransport(send.id)).toBeUndefined();
    await vi.waitFor(() =>
      expect(guestEvents).toContainEqual({
        name: 'stage:role',
        payload: { streamId, role: 'viewer', reason: 'removed' },
      }),
    );
    expect(await call(guest.socket, 'rtc:createTransport', { streamId, direction: 'send' })).toMatchObject({
      ok: false,
      code: 'NOT_ON_STAGE',
    });
    expect(
      await call(guest.socket, 'rtc:produce', { transportId: send.id, kind: 'video', rtpParameters: {} }),
    ).toMatchObject({ ok: false, code: 'NOT_ON_STAGE' });
    // The host's media is untouched and still reaches the third viewer.
    expect(room().producers.map((p) => p.participantId)).toEqual(['host', 'host']);
    const hostFrames = watching.frames.get(hostCamera) ?? 0;
    await vi.waitFor(() => expect(watching.frames.get(hostCamera)).toBeGreaterThan(hostFrames + 10), {
      timeout: 10_000,
      interval: 100,
    });
    await callOk(guest.socket, 'viewer:leave', {});
  });

  it('lets the host promote a guest to co-host, who then answers requests, and demote it', async () => {
    const { bob, dave } = live.wallets;
    const bobSocket = await live.open(bob);
    const daveSocket = await live.open(dave);
    await callOk(bobSocket, 'stage:request', { streamId });
    await callOk(host, 'stage:answer', { streamId, wallet: bob.address, approve: true });
    expect(await stage(bobSocket, 'stage:answer', { wallet: dave.address, approve: true })).toMatchObject({
      ok: false,
      code: 'NOT_STAGE_HOST',
    });
    await callOk(host, 'stage:setRole', { streamId, wallet: bob.address, role: 'co-host' });
    await callOk(daveSocket, 'stage:request', { streamId });
    expect((await callOk(bobSocket, 'stage:state', { streamId })).stage).toMatchObject({ you: 'co-host' });
    await callOk(bobSocket, 'stage:answer', { streamId, wallet: dave.address, approve: true });
    // A co-host may not mute the host; it may remove a guest.
    expect(
      await stage(bobSocket, 'stage:mute', { wallet: live.wallets.alice.address, source: 'camera', muted: true }),
    ).toMatchObject({
      ok: false,
      code: 'NOT_CREATOR',
    });
    await callOk(bobSocket, 'stage:remove', { streamId, wallet: dave.address });
    await callOk(host, 'stage:setRole', { streamId, wallet: bob.address, role: 'guest' });
    expect((await callOk(bobSocket, 'stage:state', { streamId })).stage).toMatchObject({ you: 'guest', requests: [] });
    await callOk(bobSocket, 'stage:leave', { streamId });
  });
});
