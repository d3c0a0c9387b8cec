export { type AuthModule, authModule, getAuthModule } from './auth/AuthModule.ts';
export { type AuthConfig, loadAuthConfig } from './auth/config.ts';
export { type ChatModule, chatModule, chatRoom } from './chat/ChatModule.ts';
export { type ChatConfig, loadChatConfig } from './chat/config.ts';
export { loadSignalingConfig, type SignalingConfig } from './config.ts';
export { SignalingError } from './errors.ts';
export * from './ipfs/index.ts';
export { type LedgerConfig, loadLedgerConfig } from './ledger/config.ts';
export { LedgerError, type LedgerErrorCode } from './ledger/errors.ts';
export {
  type CreditOutcome,
  Ledger,
  type LedgerSession,
  type SessionOpening,
  type SettlementCreditInput,
  type StreamTotals,
  type TickRecord,
  type VoucherRecord,
  type WalletDebt,
  type WatcherCursor,
} from './ledger/Ledger.ts';
export {
  createLedgerModule,
  type LedgerModule,
  ledgerModule,
  ledgerModuleOf,
  type SettlementChange,
} from './ledger/ledgerModule.ts';
export * from './metadata/index.ts';
export { SIGNALING_MODULES } from './modules.ts';
export { type PersistedTickHooks, persistedTicks } from './payments/persistedTicks.ts';
export {
  type FlowProbe,
  type MeteredViewer,
  type MeterState,
  type MeterStats,
  type MeterTick,
  TickMeter,
  type TickMeterOptions,
} from './payments/TickMeter.ts';
export * from './protocol.ts';
export type { RequestHandler, RequestHandlers, SignalingIo, SignalingSocket } from './RequestRouter.ts';
export type { SignalingContext, SignalingModule, SignalingModuleFactory } from './SignalingContext.ts';
export { createSignalingServer, type SignalingDeps, type SignalingServer } from './SignalingServer.ts';
export { type StageAccess, type StageModule, stageModule } from './stage/StageModule.ts';
export { loadStreamsConfig, type StreamsConfig } from './streams/config.ts';
export type { StreamRecord, StreamStatus } from './streams/StreamStore.ts';
export {
  getStreamsModule,
  type StreamDetails,
  type StreamLifecycleEvent,
  type StreamLifecycleListener,
  type StreamsModule,
  streamRoom,
  streamsModule,
} from './streams/StreamsModule.ts';
export { loadViewersConfig, type ViewersConfig } from './viewers/config.ts';
export { type ViewerSnapshot, type ViewersModule, viewersModule } from './viewers/ViewersModule.ts';
