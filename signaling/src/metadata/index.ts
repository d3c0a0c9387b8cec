// Pinning and fetching stream metadata through the node's Pinner. The schema and its encoding are a shared wire
// format: `@persecond/contracts-client/metadata`.
export { fetchStreamMetadata, pinStreamMetadata } from './streamMetadataPinning.ts';
