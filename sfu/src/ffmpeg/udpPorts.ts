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
  return (await findFreeUdpPortPairs(ip, 1, attempts))[0] as number;
}

/**
 * `n` distinct free port pairs (one per RTP stream of one ffmpeg): each pair is held bound until all are found, so no
 * two of them overlap. Released before returning, as `findFreeUdpPortPair`.
 */
export async function findFreeUdpPortPairs(ip: string, n: number, attempts = 20 * n): Promise<number[]> {
  const held: Socket[] = [];
  const ports: number[] = [];
  try {
    for (let i = 0; i < attempts && ports.length < n; i++) {
      const a = await bind(ip, 0);
      if (!a) continue;
      const port = a.address().port;
      const b = port < 65535 ? await bind(ip, port + 1) : undefined;
      held.push(a);
      if (!b) continue;
      held.push(b);
      ports.push(port);
    }
  } finally {
    for (const s of held) s.close();
  }
  if (ports.length < n) throw new Error(`no ${n} free UDP port pairs on ${ip}`);
  return ports;
}
