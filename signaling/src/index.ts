export { loadSignalingConfig, type SignalingConfig } from './config.ts';
export { SignalingError } from './errors.ts';
export * from './ipfs/index.ts';
export * from './metadata/index.ts';
export { SIGNALING_MODULES } from './modules.ts';
export * from './protocol.ts';
export type { RequestHandler, RequestHandlers, SignalingIo, SignalingSocket } from './RequestRouter.ts';
export type { SignalingContext, SignalingModule, SignalingModuleFactory } from './SignalingContext.ts';
export { createSignalingServer, type SignalingDeps, type SignalingServer } from './SignalingServer.ts';
