// Messages the session key and the wallet sign for the payment protocol, formatted by contracts-client: the same code
// signaling verifies them with.
import { type Delegation, formatDelegation } from '@persecond/contracts-client/browser';

/** `ps1:voucher:<genesisHash>:<streamId>:<sessionId>:<seq>:<owed>`, signed by the session key for each tick. */
export { formatVoucher as voucherMessage } from '@persecond/contracts-client/browser';

/**
 * `ps1:delegate:<genesisHash>:<streamId>:<sessionId>:<sessionAccount>:<asset>:<budget>`, signed once by the wallet:
 * binds the session key (SS58 42 address) to the stream, the session, the asset and the budget.
 */
export function delegationMessage(d: Delegation): string {
  return formatDelegation({ ...d, genesisHash: d.genesisHash.toLowerCase() });
}
