import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const GENESIS_FILE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '.genesis', 'rococo-asset-hub.json');

/** Raw chain spec of the dev chain: Rococo Asset Hub genesis from @substrate/connect-known-chains, never dialling out. */
export interface DevChainSpec {
  name: string;
  id: string;
  bootNodes: string[];
  properties: Record<string, unknown>;
  genesis: { raw: { top: Record<string, string> } };
}

/** Writes the dev chain genesis (from the npm package, no network) and returns its path; idempotent. */
export async function prepareDevChainGenesis(): Promise<string> {
  if (existsSync(GENESIS_FILE)) return GENESIS_FILE;
  const { chainSpec } = await import('@substrate/connect-known-chains/rococo_v2_2_asset_hub');
  const spec = JSON.parse(chainSpec) as DevChainSpec;
  if (!spec.genesis?.raw?.top?.['0x3a636f6465']) throw new Error('chain spec has no runtime code (:code)');
  spec.bootNodes = [];
  // Dev addresses read as 5Grw…, as in every Substrate dev tool; the runtime's own prefix (2) stays on chain.
  spec.properties = { ...spec.properties, ss58Format: 42 };
  mkdirSync(dirname(GENESIS_FILE), { recursive: true });
  writeFileSync(GENESIS_FILE, JSON.stringify(spec));
  return GENESIS_FILE;
}

/** Reads the prepared genesis, preparing it first when missing. */
export async function loadDevChainGenesis(): Promise<DevChainSpec> {
  return JSON.parse(readFileSync(await prepareDevChainGenesis(), 'utf8')) as DevChainSpec;
}
