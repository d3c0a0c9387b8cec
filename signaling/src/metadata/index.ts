export { MetadataError, type MetadataErrorCode } from './errors.ts';
export { decodeStreamMetadata, encodeStreamMetadata } from './streamMetadataEncoding.ts';
export { fetchStreamMetadata, pinStreamMetadata } from './streamMetadataPinning.ts';
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
