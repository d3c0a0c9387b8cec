import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildAnnouncement,
  type ChainClient,
  connect,
  DEV_ACCOUNTS,
  type DevChain,
  startDevChain,
  TxSubmitter,
} from '@persecond/contracts-client';
import { encodeStreamMetadata, type StreamMetadata } from '@persecond/contracts-client/metadata';
import { createHeliaPinner, type Pinner, registerTrustlessGateway } from '@persecond/signaling/ipfs';
import { pinStreamMetadata } from '@persecond/signaling/metadata';
import { WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadIndexerConfig } from '../src/config.ts';
import { type Indexer, startIndexer } from '../src/Indexer.ts';
import { createLogger } from '../src/logger.ts';
import { getJson, waitFor } from './support/http.ts';
import { createScratchDatabase, type ScratchDatabase } from './support/postgres.ts';

const pgUrl = process.env.DATABASE_URL;
const BACKENDS = pgUrl ? (['pglite', 'postgres'] as const) : (['pglite'] as const);
type Backend = (typeof BACKENDS)[number];
/** Which gateway each indexer fetches from. */
const GATEWAYS = ['good', 'liar', 'late'] as const;
type GatewayName = (typeof GATEWAYS)[number];

interface StreamJson {
  streamId: string;
  creator: string;
  metadataCid: string;
  metadataStatus: 'pending' | 'fetched' | 'invalid' | 'unavailable';
  metadataError: { code: string; message: string; attempts: number; nextAttemptAt: string | null } | null;
  metadata: {
    title: string;
    pricePerSecond: string;
    asset: string;
    creator: string;
    creatorMatches: boolean;
    document: Record<string, unknown>;
  } | null;
}

const doc = (title: string, creator: string, pricePerSecond: bigint): StreamMetadata => ({
  version: 1,
  title,
  description: `${title}, a stream of the indexer metadata test`,
  pricePerSecond,
  asset: 'native',
  creator,
  createdAt: '2026-03-01T10:00:00.000Z',
});

/**
 * Polls with room for a loaded machine (several engineers' chains and browsers share two cores); on timeout the
 * error carries what the indexers answered last.
 */
async function until<T>(probe: () => Promise<T | undefined>, what: string, ...watched: Indexer[]): Promise<T> {
  try {
    return await waitFor(probe, what, 180_000);
  } catch (err) {
    const seen = await Promise.all(
      watched.map(async (indexer) => ({
        status: (await getJson(`${indexer.url}/v1/status`)).body,
        streams: (await getJson(`${indexer.url}/v1/streams`)).body,
      })),
    );
    throw new Error(`${(err as Error).message}; indexers: ${JSON.stringify(seen)}`);
  }
}

async function listen(app: FastifyInstance, port = 0): Promise<string> {
  return app.listen({ host: '127.0.0.1', port });
}

describe('stream metadata fetched from a trustless gateway (real Helia behind the signaling gateway route)', () => {
  let chain: DevChain;
  let client: ChainClient;
  let dir: string;
  let pinner: Pinner;
  let gateway: FastifyInstance;
  let lateGateway: FastifyInstance | undefined;
  let latePort: number;
  let liar: Server;
  let liarRequests = 0;
  const scratches: ScratchDatabase[] = [];
  const indexers = {} as Record<Backend, Record<GatewayName, Indexer>>;
  const cids: Record<string, string> = {};
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  const dev = (name: string) => keyring.addFromUri(`//${name}`);

  const stream = async (indexer: Indexer, id: string) =>
    (await getJson<StreamJson>(`${indexer.url}/v1/streams/${id}`)).body;
  const newGateway = () => {
    const app = Fastify();
    registerTrustlessGateway(app, pinner);
    return app;
  };

  beforeAll(async () => {
    // Instant mode: every announcement gets its own block at once.
    chain = await startDevChain();
    client = await connect(chain.wsUrl, { ss58: 42 });
    dir = await mkdtemp(join(tmpdir(), 'persecond-indexer-metadata-'));
    pinner = await createHeliaPinner({ dir: join(dir, 'ipfs') });

    cids.good = (await pinStreamMetadata(pinner, doc('Cooking live', DEV_ACCOUNTS.Alice, 1_000_000_007n))).toString();
    // Announced by Charlie, but the document names Bob as creator.
    cids.foreign = (await pinStreamMetadata(pinner, doc('Not yours', DEV_ACCOUNTS.Bob, 5n))).toString();
    // Canonical JSON, but not a stream metadata document.
    cids.offSchema = (await pinner.addJson({ hello: 'world' })).toString();
    // A multi-block file (dag-pb root, 300 KiB): refused from its root's size, before its leaves.
    cids.huge = (await pinner.add(new Uint8Array(300 * 1024).fill(0x20))).toString();

    gateway = newGateway();
    const goodUrl = await listen(gateway);
    // A gateway that answers every block request with the bytes of another (valid) document.
    const otherBytes = encodeStreamMetadata(doc('Forged', DEV_ACCOUNTS.Alice, 1n));
    liar = createServer((_req, res) => {
      liarRequests++;
      res.writeHead(200, { 'content-type': 'application/vnd.ipld.raw' }).end(otherBytes);
    });
    await new Promise<void>((resolve) => liar.listen(0, '127.0.0.1', resolve));
    const liarUrl = `http://127.0.0.1:${(liar.address() as AddressInfo).port}`;
    // The late gateway's port: reserved, then closed, so the indexer first finds nothing listening there.
    const probe = newGateway();
    await listen(probe);
    latePort = (probe.server.address() as AddressInfo).port;
    await probe.close();
    const urls: Record<GatewayName, string> = { good: goodUrl, liar: liarUrl, late: `http://127.0.0.1:${latePort}` };

    const logger = createLogger('silent');
    for (const backend of BACKENDS) {
      indexers[backend] = {} as Record<GatewayName, Indexer>;
      for (const name of GATEWAYS) {
        let database: Record<string, string> = { INDEXER_DATA_DIR: 'memory://' };
        if (backend === 'postgres') {
          const scratch = await createScratchDatabase(pgUrl!);
          scratches.push(scratch);
          database = { DATABASE_URL: scratch.url };
        }
        const config = loadIndexerConfig({
          CHAIN_WS_URL: chain.wsUrl,
          PORT: '0',
          ...database,
          IPFS_GATEWAY_URL: urls[name],
          IPFS_GATEWAY_TIMEOUT_MS: '5000',
          METADATA_RETRY_MIN_MS: '200',
          METADATA_RETRY_MAX_MS: '1000',
        });
        indexers[backend][name] = await startIndexer(config, { logger });
      }
    }

    const submitter = new TxSubmitter(client.api);
    for (const [streamId, cid, signer] of [
      ['meta-good', cids.good, 'Alice'],
      ['meta-foreign', cids.foreign, 'Charlie'],
      ['meta-offschema', cids.offSchema, 'Bob'],
      ['meta-huge', cids.huge, 'Eve'],
    ] as const) {
      const result = await submitter.submit(buildAnnouncement(client, { streamId, metadataCid: cid! }), dev(signer));
      expect([streamId, result.ok]).toEqual([streamId, true]);
    }
  }, 600_000);

  afterAll(async () => {
    for (const byGateway of Object.values(indexers)) {
      for (const indexer of Object.values(byGateway)) await indexer.close();
    }
    for (const scratch of scratches) await scratch.drop();
    await gateway?.close();
    await lateGateway?.close();
    await new Promise<void>((resolve) => (liar ? liar.close(() => resolve()) : resolve()));
    await pinner?.close();
    await client?.close();
    await chain?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it.each(BACKENDS)(
    '%s: shows title and price from the metadata pinned in signaling',
    async (backend) => {
      const indexer = indexers[backend].good;
      const good = await until(
        async () => {
          const s = await stream(indexer, 'meta-good');
          return s.metadataStatus === 'fetched' ? s : undefined;
        },
        'meta-good metadata',
        indexer,
      );
      expect(good.metadataCid).toBe(cids.good);
      expect(good.metadataError).toBeNull();
      expect(good.metadata).toMatchObject({
        title: 'Cooking live',
        pricePerSecond: '1000000007',
        asset: 'native',
        creator: DEV_ACCOUNTS.Alice,
        creatorMatches: true,
      });
      expect(good.metadata?.document).toMatchObject({
        version: 1,
        title: 'Cooking live',
        pricePerSecond: '1000000007',
      });

      // The listing and the earnings endpoint carry the same metadata.
      const list = await getJson<{ items: StreamJson[] }>(`${indexer.url}/v1/streams?creator=${DEV_ACCOUNTS.Alice}`);
      expect(list.body.items.find((s) => s.streamId === 'meta-good')?.metadata?.title).toBe('Cooking live');
      const earnings = await getJson<{ stream: StreamJson }>(`${indexer.url}/v1/streams/meta-good/earnings`);
      expect(earnings.body.stream.metadata?.pricePerSecond).toBe('1000000007');

      const foreign = await until(
        async () => {
          const s = await stream(indexer, 'meta-foreign');
          return s.metadataStatus === 'fetched' ? s : undefined;
        },
        'meta-foreign metadata',
        indexer,
      );
      expect(foreign.creator).toBe(DEV_ACCOUNTS.Charlie);
      expect(foreign.metadata).toMatchObject({ title: 'Not yours', creator: DEV_ACCOUNTS.Bob, creatorMatches: false });

      // Verified content that is not a valid document is invalid for good: one attempt, no retry.
      for (const [id, code] of [
        ['meta-offschema', 'METADATA_INVALID'],
        ['meta-huge', 'METADATA_TOO_LARGE'],
      ] as const) {
        const bad = await until(
          async () => {
            const s = await stream(indexer, id);
            return s.metadataStatus === 'invalid' ? s : undefined;
          },
          `${id} marked invalid`,
          indexer,
        );
        expect(bad.metadata).toBeNull();
        expect(bad.metadataError).toMatchObject({ code, attempts: 1, nextAttemptAt: null });
      }
      await new Promise((r) => setTimeout(r, 1500));
      expect((await stream(indexer, 'meta-offschema')).metadataError?.attempts).toBe(1);
    },
    300_000,
  );

  it.each(BACKENDS)(
    '%s: rejects a gateway whose bytes do not match the CID, and keeps retrying',
    async (backend) => {
      const indexer = indexers[backend].liar;
      const rejected = await until(
        async () => {
          const s = await stream(indexer, 'meta-good');
          return (s.metadataError?.attempts ?? 0) >= 2 ? s : undefined;
        },
        'two rejected attempts',
        indexer,
      );
      expect(rejected.metadataStatus).toBe('unavailable');
      expect(rejected.metadata).toBeNull();
      expect(rejected.metadataError?.code).toBe('BLOCK_MISMATCH');
      expect(rejected.metadataError?.nextAttemptAt).not.toBeNull();
      expect(liarRequests).toBeGreaterThan(0);
      // A forged answer is never stored, for any CID.
      for (const id of ['meta-foreign', 'meta-offschema', 'meta-huge']) {
        expect((await stream(indexer, id)).metadata).toBeNull();
      }
    },
    300_000,
  );

  it('keeps following the chain while the gateway is down', async () => {
    for (const backend of BACKENDS) {
      const indexer = indexers[backend].late;
      const down = await until(
        async () => {
          const s = await stream(indexer, 'meta-good');
          return (s.metadataError?.attempts ?? 0) >= 1 ? s : undefined;
        },
        `${backend}: a failed attempt`,
        indexer,
      );
      expect(down.metadataStatus).toBe('unavailable');
      expect(down.metadataError?.code).toBe('GATEWAY_UNAVAILABLE');
    }
    // Its own connection with a long request timeout: building blocks on a loaded machine can take over 15 s.
    const builder = new WsProvider(chain.wsUrl, 1000, {}, 300_000);
    try {
      await builder.isReady;
      await builder.send('dev_newBlock', [{ count: 2 }]);
    } finally {
      await builder.disconnect();
    }
    const head = (await client.api.rpc.chain.getHeader()).number.toNumber();
    for (const backend of BACKENDS) {
      const indexer = indexers[backend].late;
      await until(
        async () => {
          const { body } = await getJson<{ indexedHead: { number: number } | null }>(`${indexer.url}/v1/status`);
          return body.indexedHead?.number === head ? true : undefined;
        },
        `${backend}: indexed head ${head} with the gateway down`,
        indexer,
      );
      expect((await stream(indexer, 'meta-good')).metadata).toBeNull();
    }
  }, 300_000);

  it('fetches the metadata once the gateway is back, without new blocks', async () => {
    lateGateway = newGateway();
    await listen(lateGateway, latePort);
    for (const backend of BACKENDS) {
      const indexer = indexers[backend].late;
      const back = await until(
        async () => {
          const s = await stream(indexer, 'meta-good');
          return s.metadataStatus === 'fetched' ? s : undefined;
        },
        `${backend}: metadata after the gateway came back`,
        indexer,
      );
      expect(back.metadata).toMatchObject({
        title: 'Cooking live',
        pricePerSecond: '1000000007',
        creatorMatches: true,
      });
      expect(back.metadataError).toBeNull();
    }
  }, 300_000);
});
