// Runs in every test worker before its test file.
// helia 7 and libp2p call Promise.withResolvers, which Node 20 lacks.
import '../signaling/src/ipfs/withResolvers.ts';

// Signaling nodes built by tests keep their ledger in memory unless a test says otherwise
// (a PGlite directory is single-process: parallel test files would lock each other out).
process.env.SIGNALING_DATA_DIR ??= 'memory://';

// Streams are recorded by default (an HLS relay kept running per stream, an x264 encoder each): the stacks that tests
// start (npm start, signaling servers building their own SFU) record only when a test asks.
process.env.RECORDING ??= 'off';
