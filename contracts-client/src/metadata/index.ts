// Stream metadata: the document schema and its canonical DAG-JSON encoding, a wire format shared by signaling,
// the indexer and the dapp. Browser-safe (no node: built-ins); `@persecond/contracts-client/metadata`.
export { decodeCanonicalJson, encodeCanonicalJson } from './canonicalJson.ts';
export { MetadataError, type MetadataErrorCode } from './errors.ts';
export { decodeStreamMetadata, encodeStreamMetadata } from './streamMetadataEncoding.ts';
export {
  CidString,
  MAX_STREAM_METADATA_BYTES,
  PositivePlanckText,
  PricePerSecondText,
  Ss58Address,
  StreamAsset,
  type StreamMetadata,
  type StreamMetadataDocument,
  StreamTerms,
  streamMetadataSchema,
} from './streamMetadataSchema.ts';
