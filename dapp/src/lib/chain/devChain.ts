// Recognising the local dev chain (chopsticks), the only chain on which the dev wallet may be offered.

/** Genesis hash chopsticks reports for a chain started from a raw genesis (our dev chain). */
export const DEV_CHAIN_GENESIS = `0x${'45'.repeat(32)}`;

/** SS58 prefix used to show addresses on the dev chain (the generic Substrate one, as dev tools do). */
export const DEV_SS58 = 42;

/** True only for the dev chain: its genesis hash and chopsticks' `dev_*` RPC methods must both be present. */
export function isDevChain(genesisHash: string, rpcMethods: readonly string[]): boolean {
  return genesisHash.toLowerCase() === DEV_CHAIN_GENESIS && rpcMethods.includes('dev_newBlock');
}
