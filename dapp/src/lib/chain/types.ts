/** Symbol and decimals of an asset as the chain describes it. */
export interface TokenInfo {
  symbol: string;
  decimals: number;
}

/** `native` (balances pallet) or an assets-pallet id. */
export type AssetRef = 'native' | number;
