// Runs in every test worker before its test file.
// helia 7 and libp2p call Promise.withResolvers, which Node 20 lacks.
import '../signaling/src/ipfs/withResolvers.ts';
