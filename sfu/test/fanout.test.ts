import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CapacityFullError, loadSfuConfig, type Room, Sfu } from '../src/index.ts';
import { type Publisher, startPublisher, startViewer, type Viewer } from './helpers/peers.ts';
import { processAlive, waitFor } from './helpers/wait.ts';

// Budget of 4 consumers per worker: each viewer of an audio + video stream costs 2, so 2 viewers fit per worker.
describe('capacity fan-out across 2 workers with pipeToRouter', () => {
  let sfu: Sfu;
  let room: Room;
  let publisher: Publisher;
  const viewers: Viewer[] = [];

  beforeAll(async () => {
    sfu = await Sfu.create(
      loadSfuConfig({
        SFU_NUM_WORKERS: '2',
        SFU_CONSUMERS_PER_WORKER: '4',
        LOG_LEVEL: process.env.SFU_TEST_LOG ?? 'silent',
        // Not recorded: a recording keeps an HLS relay (an x264 encoder) running beside what this file measures.
        RECORDING: 'off',
      }),
    );
    room = await sfu.openRoom('fanout');
    publisher = await startPublisher(room);
  });

  afterAll(async () => {
    for (const v of viewers) v.close();
    publisher?.close();
    await sfu?.close();
  });

  it('places viewers beyond the budget on a second worker, where they still decode frames', async () => {
    const origin = room.workerIndexes[0]!;
    for (const id of ['a', 'b', 'c']) viewers.push(await startViewer(room, id));
    expect(room.viewerWorkerIndex('a')).toBe(origin);
    expect(room.viewerWorkerIndex('b')).toBe(origin);
    expect(room.viewerWorkerIndex('c')).not.toBe(origin);
    expect(room.workerIndexes).toHaveLength(2);
    await waitFor('frames at every viewer', () => viewers.every((v) => v.frames >= 20), 20_000);
    // The second worker carries the fanned-out viewer's consumers plus the pipe producers feeding them.
    const second = sfu.pool.workers[room.viewerWorkerIndex('c')]!;
    expect(second.reserved).toBe(2);
    expect(second.consumers).toBe(2);
  });

  it('reports CAPACITY_FULL once every worker is at its budget', async () => {
    viewers.push(await startViewer(room, 'd'));
    const err = await room.addViewer('e').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CapacityFullError);
    expect(err).toMatchObject({ code: 'CAPACITY_FULL' });
    expect(room.viewerIds.sort()).toEqual(['a', 'b', 'c', 'd']);
    // A leaving viewer frees its share of the budget.
    viewers.find((v) => v.id === 'd')?.close();
    room.removeViewer('d');
    const e = await startViewer(room, 'e');
    viewers.push(e);
    await waitFor('frames at the late viewer', () => e.frames >= 10, 20_000);
  });

  it('tells the room when the worker of a fan-out router dies, and keeps the origin viewers', async () => {
    const secondIndex = room.viewerWorkerIndex('c');
    const pid = sfu.pool.workers[secondIndex]!.worker.pid;
    const closed: { viewerId: string; reason: string }[] = [];
    room.on('viewerClosed', (e) => closed.push(e));
    const replaced = new Promise((r) => sfu.once('workerReplaced', r));
    process.kill(pid, 'SIGKILL');
    await replaced;
    await waitFor('fan-out viewers closed', () => closed.length === 2);
    expect(closed.map((c) => c.viewerId).sort()).toEqual(['c', 'e']);
    expect(closed.every((c) => c.reason === 'worker-died')).toBe(true);
    expect(processAlive(pid)).toBe(false);
    expect(room.closed).toBe(false);
    expect(room.viewerIds.sort()).toEqual(['a', 'b']);
    const a = viewers[0]!;
    const before = a.frames;
    await waitFor('origin viewers still decode', () => a.frames > before + 10, 10_000);
  });
});
