import {
  type ChainClient,
  type DecodedBlock,
  fetchDecodedBlock,
  readFinalizedHash,
  readHeader,
} from '@persecond/contracts-client';
import { z } from 'zod';

/** A block hash as a client names it. */
const BlockHash = z.string().regex(/^0x[0-9a-fA-F]{64}$/);

/** A block read on demand, and whether it is final on this chain. */
export interface ReadBlock {
  block: DecodedBlock;
  status: 'pending' | 'final';
}

/**
 * Reads and decodes block `blockHash` of this chain with its finality. Undefined when it is not one of this chain's
 * blocks: malformed, unknown to the node, or on a fork below the finalized head (never canonical). Other failures
 * (the chain unreachable) throw.
 */
export async function readChainBlock(chain: ChainClient, blockHash: string): Promise<ReadBlock | undefined> {
  if (!BlockHash.safeParse(blockHash).success) return undefined;
  const hash = blockHash.toLowerCase();
  const { api } = chain;
  let number: number;
  try {
    number = (await readHeader(api, hash)).number.toNumber();
  } catch (err) {
    // readHeader throws this for a hash the node does not know (its answer is null).
    if ((err as Error).message.startsWith('unknown block')) return undefined;
    throw err;
  }
  const finalizedHash = await readFinalizedHash(api);
  const finalized = (await readHeader(api, finalizedHash)).number.toNumber();
  let status: ReadBlock['status'] = 'pending';
  if (number <= finalized) {
    const canonical = (await api.rpc.chain.getBlockHash(number)).toHex();
    if (canonical !== hash && !(number === finalized && finalizedHash === hash)) return undefined;
    status = 'final';
  }
  return { block: await fetchDecodedBlock(api, hash, chain.facts.ss58), status };
}
