// Messages the session key and the wallet sign for the payment protocol.

/** `ps1:voucher:<genesisHash>:<streamId>:<sessionId>:<seq>:<owed>`, signed by the session key for each tick. */
export function voucherMessage(v: {
  genesisHash: string;
  streamId: string;
  sessionId: string;
  seq: number;
  owed: bigint;
}): string {
  return `ps1:voucher:${v.genesisHash}:${v.streamId}:${v.sessionId}:${v.seq}:${v.owed}`;
}

/**
 * `ps1:delegate:<genesisHash>:<streamId>:<sessionId>:<sessionAccount>:<asset>:<budget>`, signed once by the wallet:
 * binds the session key (SS58 42 address) to the stream, the session, the asset and the budget.
 */
export function delegationMessage(d: {
  genesisHash: string;
  streamId: string;
  sessionId: string;
  sessionAccount: string;
  asset: 'native' | number;
  budget: bigint;
}): string {
  return `ps1:delegate:${d.genesisHash.toLowerCase()}:${d.streamId}:${d.sessionId}:${d.sessionAccount}:${d.asset}:${d.budget}`;
}
