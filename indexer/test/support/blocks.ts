import { createHash } from 'node:crypto';
import type { ProtocolEvent } from '@persecond/contracts-client';
import type { IndexedBlock } from '../../src/chain/IndexedBlock.ts';

/** A deterministic 32-byte hex hash of `seed`. */
export function hashOf(seed: string): string {
  return `0x${createHash('sha256').update(seed).digest('hex')}`;
}

type EventInput = ProtocolEvent extends infer E
  ? E extends ProtocolEvent
    ? Omit<E, 'id' | 'blockHash' | 'blockNumber' | 'parentHash' | 'extrinsicHash'>
    : never
  : never;

/**
 * Builds a chain of blocks in the shape the decoder produces (written through the real Store; the decoding itself
 * is tested in contracts-client against the dev chain). `fork` varies the hashes to build a competing branch.
 */
export function chainOf(
  from: number,
  parentHash: string,
  specs: Array<{ time: Date; events?: EventInput[] }>,
  fork = 'main',
): IndexedBlock[] {
  const out: IndexedBlock[] = [];
  let parent = parentHash;
  specs.forEach((spec, i) => {
    const number = from + i;
    const hash = hashOf(`${fork}:${number}:${parent}`);
    const events = (spec.events ?? []).map(
      (e) =>
        ({
          ...e,
          id: `${hash}:${e.extrinsicIndex}:${e.eventIndex}`,
          blockHash: hash,
          blockNumber: number,
          parentHash: parent,
          extrinsicHash: hashOf(`${hash}:${e.extrinsicIndex}`),
        }) as ProtocolEvent,
    );
    out.push({ hash, number, parentHash: parent, time: spec.time, events });
    parent = hash;
  });
  return out;
}
