export { loadSfuConfig, type SfuConfig } from './config.ts';
export {
  CapacityFullError,
  RoomClosedError,
  SfuBadRequestError,
  SfuClosedError,
  SfuError,
  type SfuErrorCode,
} from './errors.ts';
export { FfmpegHls, type FfmpegHlsOptions, type FfmpegInput, PLAYLIST_NAME } from './hls/FfmpegHls.ts';
export { hlsEncodeArgs } from './hls/ffmpegArgs.ts';
export { type HlsFile, HlsReader, hlsDirOf } from './hls/HlsReader.ts';
export { HlsRelay } from './hls/HlsRelay.ts';
export { DEFAULT_HLS_LADDER, parseHlsLadder, type Rendition } from './hls/ladder.ts';
export { type HlsFileName, parseHlsFileName, SINGLE_RENDITION, variantPlaylistName } from './hls/names.ts';
export {
  MAX_COMPOSED_VIDEOS,
  MAX_MIXED_AUDIOS,
  planRelay,
  type RelayPlan,
  STAGE_LAYOUTS,
  type StageLayout,
} from './hls/stagePlan.ts';
export {
  applyLayerPick,
  LAYER_PICKS,
  type LayerPick,
  layerCounts,
  preferredLayersFor,
  type ViewerLayers,
} from './layers.ts';
export { ROUTER_MEDIA_CODECS } from './mediaCodecs.ts';
export { loadMediasoup } from './mediasoupLoader.ts';
export {
  type ConsumerParams,
  Room,
  type RoomCloseReason,
  type RoomEvents,
  type TransportParams,
  type ViewerCloseReason,
  type ViewerFlow,
} from './Room.ts';
export { Recorder, type RecorderEvents, type RecorderOptions } from './recording/Recorder.ts';
export { RecordingStore, type RecordingStoreOptions } from './recording/RecordingStore.ts';
export {
  RECORDING_INFO_NAME,
  RecordingInfo,
  recordingDirOf,
  segmentNameOf,
} from './recording/recordingFiles.ts';
export { VodWriter, type VodWriterOptions } from './recording/VodWriter.ts';
export { type PlaylistEntry, parseMediaPlaylist, renderMediaPlaylist } from './recording/vodPlaylist.ts';
export {
  HOST_PARTICIPANT_ID,
  PRODUCER_SOURCES,
  type ProducerInfo,
  type ProducerSource,
} from './room/Participant.ts';
export { type OpenRoomOptions, Sfu, type SfuDeps, type SfuEvents, type SfuHealth } from './Sfu.ts';
export { RoomThumbnail, type RoomThumbnailOptions } from './thumbnails/RoomThumbnail.ts';
export { Thumbnailer, type ThumbnailerOptions } from './thumbnails/Thumbnailer.ts';
export { thumbnailArgs, thumbnailFileOf } from './thumbnails/thumbnailArgs.ts';
export { type PooledWorker, type WorkerDiedEvent, WorkerPool, type WorkerReplacedEvent } from './WorkerPool.ts';
export { cachedWorkerBinPath, MEDIASOUP_VERSION, persecondCacheDir, useCachedWorkerBin } from './workerBin.ts';
