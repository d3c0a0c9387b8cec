export { loadSignalingConfig, type SignalingConfig } from './config.ts';
export { SignalingError } from './errors.ts';
export * from './protocol.ts';
export type { RequestHandler, RequestHandlers, SignalingIo, SignalingSocket } from './RequestRouter.ts';
export { createSignalingServer, type SignalingDeps, type SignalingServer } from './SignalingServer.ts';
