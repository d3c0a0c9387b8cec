// The HLS edge child process (forked by `HlsEdge` with `--import tsx`): serves HLS to the viewer sessions the
// signaling process allows over IPC and reports what it delivered. Exits when its parent goes away.

import { parseChildEnv } from './childEnv.ts';
import { HlsEdgeServer } from './HlsEdgeServer.ts';
import { HlsTokens } from './HlsTokens.ts';
import { EdgeCommand, type EdgeReport } from './protocol.ts';

if (!process.send) throw new Error('the HLS edge runs as a child process with an IPC channel (HlsEdge)');
const settings = parseChildEnv(process.env);
// Only verified here: the lifetime is the issuer's business.
const server = new HlsEdgeServer({
  hlsDir: settings.hlsDir,
  ...(settings.recordingDir === undefined ? {} : { recordingDir: settings.recordingDir }),
  segmentSeconds: settings.segmentSeconds,
  tokens: new HlsTokens(settings.tokenSecret, 1),
});
const send = (report: EdgeReport): void => {
  if (process.connected) process.send?.(report);
};

process.on('message', (raw: unknown) => {
  const parsed = EdgeCommand.safeParse(raw);
  if (!parsed.success) {
    process.stderr.write(`hls edge: ignored a malformed command: ${parsed.error.message}\n`);
    return;
  }
  const command = parsed.data;
  if (command.type === 'allow') {
    server.sessions.allow(command.sessionId, command.streamId, command.paused, command.replay === true);
  } else if (command.type === 'deny') server.sessions.deny(command.sessionId, command.paused);
  else {
    report();
    send({ type: 'flushed', id: command.id });
  }
});

/** What was delivered (and refused over the limit) since the last report, sent when there is anything. */
const report = (): void => {
  // Replay numbers first: `drain` forgets which sessions were delivered anything.
  const replay = server.sessions.drainReplay();
  const seconds = server.sessions.drain();
  const limited = server.policy.drainLimited();
  const any = (r: object) => Object.keys(r).length > 0;
  if (!any(seconds) && !any(limited) && !any(replay)) return;
  send({ type: 'delivered', seconds, ...(any(replay) ? { replay } : {}), ...(any(limited) ? { limited } : {}) });
};
// Batched: a SIGKILL loses at most one interval's deliveries (undercharged, never overcharged).
const reports = setInterval(report, settings.reportIntervalMs);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  clearInterval(reports);
  report();
  void server.close().then(() => process.exit(0));
};
process.on('disconnect', stop);
// Ctrl-C or a supervisor's SIGTERM reach the whole process group: the parent decides when the edge stops (it
// disconnects on close, and a dead parent's channel closes), so a group signal is not mistaken for a crash and restarted.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);

const port = await server.listen(settings.host, settings.port);
send({ type: 'ready', port });
