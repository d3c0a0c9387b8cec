import { authModule } from './auth/AuthModule.ts';
import { chatModule } from './chat/ChatModule.ts';
import { ingestModule } from './ingest/IngestModule.ts';
import { ipfsGatewayModule } from './ipfs/gatewayModule.ts';
import { ledgerModule } from './ledger/ledgerModule.ts';
import { publishingModule } from './publishing/PublishingModule.ts';
import { replaysModule } from './replays/ReplaysModule.ts';
import { rtcModule } from './rtc/RtcModule.ts';
import type { SignalingModuleFactory } from './SignalingContext.ts';
import { stageModule } from './stage/StageModule.ts';
import { streamsModule } from './streams/StreamsModule.ts';
import { turnModule } from './turn/TurnModule.ts';
import { viewersModule } from './viewers/ViewersModule.ts';

/**
 * The modules of a signaling node, in creation order (later ones may use earlier ones through `ctx.modules`).
 * Each module lives in its own folder and adds one entry here.
 */
export const SIGNALING_MODULES: readonly SignalingModuleFactory[] = [
  authModule(),
  streamsModule(),
  publishingModule(),
  ledgerModule,
  viewersModule(),
  replaysModule,
  turnModule(),
  rtcModule(),
  stageModule(),
  ingestModule(),
  chatModule(),
  ipfsGatewayModule,
];
