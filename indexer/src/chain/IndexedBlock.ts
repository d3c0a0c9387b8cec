import type { DecodedBlock } from '@persecond/contracts-client';

/** A decoded block with its timestamp (from the `timestamp.set` inherent): what the indexer writes. */
export interface IndexedBlock extends DecodedBlock {
  readonly time: Date;
}

/** A block's number and hash. */
export interface BlockId {
  readonly number: number;
  readonly hash: string;
}
