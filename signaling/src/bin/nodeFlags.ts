// Node flags the signaling server runs with (npm start, the ticking bench; docker-compose.yml repeats them).
// Every viewer-second allocates a few short-lived objects (tick, voucher, socket frames): young-generation space of
// 32 MB (default 16) lets them die there instead of being promoted, which spares full collections that held the
// event loop for 50–120 ms at 2,000 viewers.
export const SIGNALING_NODE_FLAGS = ['--max-semi-space-size=32'] as const;
