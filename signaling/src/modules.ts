import type { SignalingModuleFactory } from './SignalingContext.ts';

/**
 * The modules of a signaling node, in creation order (later ones may use earlier ones through `ctx.modules`).
 * Each module lives in its own folder and adds one entry here.
 */
export const SIGNALING_MODULES: readonly SignalingModuleFactory[] = [];
