// A node recording one stream (an ffmpeg RTP sender as its creator) until it is killed: the crash test's victim.
// Run as `node --import tsx recordingChild.ts <HLS_DIR>`; prints a JSON line at every recording update.
import { loadSfuConfig, Sfu } from '../../src/index.ts';
import { startRtpSender } from './rtpSender.ts';

const hlsDir = process.argv[2];
if (!hlsDir) throw new Error('usage: recordingChild.ts <HLS_DIR>');
const sfu = await Sfu.create(
  loadSfuConfig({
    SFU_NUM_WORKERS: '1',
    LOG_LEVEL: 'silent',
    HLS_DIR: hlsDir,
    HLS_LADDER: 'high:240:400',
    THUMBNAIL_INTERVAL_SECONDS: '0',
    RECORDING: 'on',
  }),
);
const room = await sfu.openRoom('crash');
await startRtpSender(room, 'testsrc2=size=320x240:rate=15');
sfu.recorder('crash')?.on('update', (info) => {
  process.stdout.write(`${JSON.stringify({ segments: info.segments, seconds: info.durationSeconds })}\n`);
});
