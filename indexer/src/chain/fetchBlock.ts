import { decodeBlockData } from '@persecond/contracts-client';
import type { ApiPromise } from '@polkadot/api';
import type { EventRecord, SignedBlock } from '@polkadot/types/interfaces';
import { IndexerError } from '../errors.ts';
import type { IndexedBlock } from './IndexedBlock.ts';

/** The block's time from its `timestamp.set` inherent; genesis has none, and Timestamp.Now is 0 there. */
function blockTime(block: SignedBlock): Date {
  for (const ex of block.block.extrinsics) {
    if (ex.method.section === 'timestamp' && ex.method.method === 'set') {
      return new Date(Number((ex.method.args[0] as unknown as { toString(): string }).toString()));
    }
  }
  if (block.block.header.number.toNumber() === 0) return new Date(0);
  throw new IndexerError('INTERNAL', `block ${block.block.header.hash.toHex()} has no timestamp.set inherent`);
}

/** Fetches a block and its events by hash and decodes its protocol events (the decoding is contracts-client's). */
export async function fetchIndexedBlock(api: ApiPromise, hash: string, ss58: number): Promise<IndexedBlock> {
  const [block, apiAt] = await Promise.all([api.rpc.chain.getBlock(hash), api.at(hash)]);
  const records = (await apiAt.query.system.events()) as unknown as EventRecord[];
  // The node's hash is authoritative: chopsticks serves a synthetic genesis whose header does not hash to it.
  return { ...decodeBlockData(block, records, ss58), hash, time: blockTime(block) };
}
