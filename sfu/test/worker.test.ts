import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSfuConfig, Sfu, type WorkerDiedEvent, type WorkerReplacedEvent } from '../src/index.ts';
import { processAlive, waitFor } from './helpers/wait.ts';

describe('Sfu with real mediasoup workers', () => {
  let sfu: Sfu;

  beforeAll(async () => {
    sfu = await Sfu.create(
      loadSfuConfig({ SFU_NUM_WORKERS: '2', LOG_LEVEL: process.env.SFU_TEST_LOG ?? 'silent', RECORDING: 'off' }),
    );
  });

  afterAll(async () => {
    await sfu?.close();
  });

  it('runs one live worker process per slot', () => {
    const h = sfu.health();
    expect(h).toMatchObject({ ok: true, workers: 2, rooms: 0, workerRestarts: 0 });
    expect(new Set(h.pids).size).toBe(2);
    for (const pid of h.pids) expect(processAlive(pid)).toBe(true);
  });

  it('opens a room with a router offering Opus, VP8 and H.264, and closes it', async () => {
    const room = await sfu.openRoom('stream-a');
    expect(await sfu.openRoom('stream-a')).toBe(room);
    const mimes = room.rtpCapabilities.codecs?.map((c) => c.mimeType) ?? [];
    expect(mimes).toEqual(expect.arrayContaining(['audio/opus', 'video/VP8', 'video/H264']));
    const transport = await room.createPublisherTransport();
    expect(transport.iceCandidates.every((c) => c.address === '127.0.0.1')).toBe(true);
    expect(sfu.health().rooms).toBe(1);
    const router = room.originRouter;
    await room.close();
    await room.close();
    expect(router.closed).toBe(true);
    expect(sfu.getRoom('stream-a')).toBeUndefined();
    expect(sfu.health().rooms).toBe(0);
    await expect(room.createPublisherTransport()).rejects.toMatchObject({ code: 'STREAM_NOT_LIVE' });
  });

  it('refuses unusable RTP parameters and releases the budget of a viewer that leaves while joining', async () => {
    const room = await sfu.openRoom('stream-e');
    const t = await room.createPublisherTransport();
    await expect(room.produce(t.id, 'video', { codecs: [], encodings: [] })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    await expect(room.produce('no-such-transport', 'video', { codecs: [] })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    const slot = sfu.pool.workers[room.workerIndexes[0]!]!;
    const joining = room.addViewer('quick-leaver');
    expect(slot.reserved).toBe(2);
    room.removeViewer('quick-leaver');
    expect(slot.reserved).toBe(0);
    await expect(joining).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    expect(room.viewerIds).toEqual([]);
    expect(slot.consumers).toBe(0);
    await room.close();
    expect((await slot.worker.dump()).routerIds).toEqual([]);
  });

  it('replaces a killed worker, closes its rooms and reports both', async () => {
    const room = await sfu.openRoom('stream-b');
    const index = room.workerIndexes[0]!;
    const oldPid = sfu.pool.workers[index]!.worker.pid;
    const died = new Promise<WorkerDiedEvent>((r) => sfu.once('workerDied', r));
    const replaced = new Promise<WorkerReplacedEvent>((r) => sfu.once('workerReplaced', r));
    const roomClosed = new Promise((r) => sfu.once('roomClosed', r));

    process.kill(oldPid, 'SIGKILL');

    expect(await died).toMatchObject({ index, pid: oldPid });
    expect(await roomClosed).toEqual({ streamId: 'stream-b', reason: 'worker-died' });
    const e = await replaced;
    expect(e).toMatchObject({ index, oldPid });
    expect(e.newPid).not.toBe(oldPid);
    expect(processAlive(e.newPid)).toBe(true);
    await waitFor('old worker reaped', () => !processAlive(oldPid));
    expect(sfu.health()).toMatchObject({ ok: true, workers: 2, workerRestarts: 1 });
    expect(sfu.health().pids).toContain(e.newPid);
    // The replacement worker takes new rooms.
    const again = await sfu.openRoom('stream-b');
    expect(again).not.toBe(room);
    expect(again.closed).toBe(false);
    await again.close();
  });

  it('does not replace a worker that exits on a shutdown signal once the process expects to shut down', async () => {
    const restarts = sfu.health().workerRestarts;
    const pid = sfu.pool.workers[0]!.worker.pid;
    let replaced = false;
    const onReplaced = () => {
      replaced = true;
    };
    sfu.on('workerReplaced', onReplaced);
    sfu.expectShutdown();
    // What a SIGTERM to the whole process group does to the worker: it closes itself.
    process.kill(pid, 'SIGTERM');
    await waitFor('worker exited', () => !processAlive(pid));
    await new Promise((r) => setTimeout(r, 500));
    sfu.off('workerReplaced', onReplaced);
    expect(replaced).toBe(false);
    expect(sfu.health().workerRestarts).toBe(restarts);
  });

  it('close() ends every worker process and is safe to call twice', async () => {
    const pids = sfu.health().pids;
    await sfu.openRoom('stream-c');
    await Promise.all([sfu.close(), sfu.close()]);
    for (const pid of pids) expect(processAlive(pid)).toBe(false);
    expect(sfu.health()).toMatchObject({ ok: false, workers: 0, rooms: 0 });
    await expect(sfu.openRoom('stream-d')).rejects.toMatchObject({ code: 'INTERNAL' });
  });
});
