/** Well-known Substrate dev accounts (sr25519, `//Name` derivations), funded on the dev chain. */
export const DEV_ACCOUNTS = {
  Alice: '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY',
  Bob: '5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty',
  Charlie: '5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y',
  Dave: '5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy',
  Eve: '5HGjWAeFDfFCWPsjFQdVV2Msvz2XtMktvgocEZcCj68kUMaw',
  Ferdie: '5CiPPseXPECbkjWCa6MnjNokrgYjMqmKndv2rSnekmSK2DjL',
} as const;

export type DevAccountName = keyof typeof DEV_ACCOUNTS;

/** The assets-pallet asset created on the dev chain for asset-priced streams. */
export const DEV_ASSET = {
  id: 1984,
  name: 'Persecond Dev Dollar',
  symbol: 'PSD',
  decimals: 6,
  minBalance: 1n,
} as const;

/** Native balance each dev account starts with: 1,000,000 ROC (12 decimals). */
export const DEV_NATIVE_ENDOWMENT = 10n ** 18n;

/** Dev-asset balance each dev account starts with: 1,000,000 PSD (6 decimals). */
export const DEV_ASSET_ENDOWMENT = 10n ** 12n;
