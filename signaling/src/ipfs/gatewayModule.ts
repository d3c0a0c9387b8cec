import type { SignalingModuleFactory } from '../SignalingContext.ts';
import { registerTrustlessGateway } from './trustlessGateway.ts';

/** Serves the node's pinned content as a read-only trustless gateway (`GET /ipfs/:cid`, raw blocks). */
export const ipfsGatewayModule: SignalingModuleFactory = async (ctx) => {
  registerTrustlessGateway(ctx.app, ctx.pinner);
  return { name: 'ipfsGateway' };
};
