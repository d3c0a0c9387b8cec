import { createSocket, type Socket } from 'node:dgram';

function bind(ip: string, port: number): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const s = createSocket(ip.includes(':') ? 'udp6' : 'udp4');
    s.once('error', () => {
      s.close();
      resolve(undefined);
    });
    s.bind(port, ip, () => resolve(s));
  });
}

/**
 * Finds a free UDP port whose successor is free too (RTP + RTCP for ffmpeg). The ports are released before
 * returning, so another process could grab them first; ffmpeg then fails to bind and its supervisor retries.
 */
export async function findFreeUdpPortPair(ip: string, attempts = 20): Promise<number> {
  for (let i = 0; i < attempts; i++) {
    const a = await bind(ip, 0);
    if (!a) continue;
    const port = a.address().port;
    const b = port < 65535 ? await bind(ip, port + 1) : undefined;
    a.close();
    b?.close();
    if (b) return port;
  }
  throw new Error(`no free UDP port pair on ${ip}`);
}
