export { decodeCanonicalJson, encodeCanonicalJson } from './canonicalJson.ts';
export { DEFAULT_IPFS_DIR, type IpfsConfig, ipfsEnvSchema, parseIpfsConfig } from './config.ts';
export { createPinner } from './createPinner.ts';
export { IPFS_ERROR_CODES, IpfsError, type IpfsErrorCode, isIpfsError } from './errors.ts';
export { ipfsGatewayModule } from './gatewayModule.ts';
export { createHeliaPinner, type HeliaPinnerOptions } from './HeliaPinner.ts';
export { createKuboPinner, type KuboPinnerOptions } from './KuboPinner.ts';
export {
  type CatOptions,
  DEFAULT_BLOCK_MAX_BYTES,
  DEFAULT_CAT_MAX_BYTES,
  type OperationOptions,
  type Pinner,
} from './Pinner.ts';
export { RAW_BLOCK_MEDIA_TYPE, registerTrustlessGateway, type TrustlessGatewayOptions } from './trustlessGateway.ts';
export { KUBO_ADD_PARAMS, KUBO_CHUNK_SIZE, KUBO_MAX_LINKS, kuboImportOptions } from './unixfsLayout.ts';
