export * from './browser.ts';
export {
  DEV_ACCOUNTS,
  DEV_ASSET,
  DEV_ASSET_ENDOWMENT,
  DEV_NATIVE_ENDOWMENT,
  type DevAccountName,
} from './devchain/accounts.ts';
export { type DevChain, type DevChainOptions, startDevChain } from './devchain/DevChain.ts';
export { loadDevChainGenesis, prepareDevChainGenesis } from './devchain/genesis.ts';
export { MemoryNonceStore } from './identity/NonceStore.ts';
export { VoucherVerifier } from './vouchers/VoucherVerifier.ts';
