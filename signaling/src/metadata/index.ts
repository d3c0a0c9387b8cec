export { MetadataError, type MetadataErrorCode } from './errors.ts';
export { decodeStreamMetadata, encodeStreamMetadata } from './streamMetadataEncoding.ts';
export { fetchStreamMetadata, pinStreamMetadata } from './streamMetadataPinning.ts';
export {
  CidString,
  MAX_STREAM_METADATA_BYTES,
  PositivePlanckText,
  Ss58Address,
  StreamAsset,
  type StreamMetadata,
  type StreamMetadataDocument,
  streamMetadataSchema,
} from './streamMetadataSchema.ts';
