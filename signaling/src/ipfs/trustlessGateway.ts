import type { FastifyInstance, FastifyReply } from 'fastify';
import type { CID } from 'multiformats/cid';
import { identity } from 'multiformats/hashes/identity';
import { z } from 'zod';
import { toCid } from './cidInput.ts';
import { isIpfsError } from './errors.ts';
import { DEFAULT_BLOCK_MAX_BYTES, type Pinner } from './Pinner.ts';

/** Media type of a raw block response (trustless gateway spec). */
export const RAW_BLOCK_MEDIA_TYPE = 'application/vnd.ipld.raw';

/** Options of the trustless gateway route. */
export interface TrustlessGatewayOptions {
  /** Largest block served; bigger ones answer 403 IPFS_TOO_LARGE. Default DEFAULT_BLOCK_MAX_BYTES (2 MiB). */
  maxBlockBytes?: number;
}

const Params = z.object({ cid: z.string().max(256) });
const Query = z.object({ format: z.string().max(64).optional() });

/** What the request asks for: a raw block, or why it cannot be served (status and message). */
function negotiate(
  format: string | undefined,
  accept: string | undefined,
): 'raw' | { status: number; message: string } {
  // The spec: `format` takes precedence over Accept.
  if (format !== undefined) {
    return format === 'raw'
      ? 'raw'
      : { status: 406, message: `format=${format} is not served here; this gateway serves raw blocks (format=raw)` };
  }
  const types = (accept ?? '')
    .split(',')
    .map((part) => part.split(';')[0]!.trim().toLowerCase())
    .filter((t) => t !== '' && t !== '*/*');
  if (types.includes(RAW_BLOCK_MEDIA_TYPE)) return 'raw';
  if (types.length === 0) {
    return { status: 400, message: `trustless gateway: ask for ${RAW_BLOCK_MEDIA_TYPE} (Accept) or ?format=raw` };
  }
  return { status: 406, message: `this gateway serves only ${RAW_BLOCK_MEDIA_TYPE}` };
}

function fail(reply: FastifyReply, status: number, code: string, message: string) {
  return reply.status(status).header('cache-control', 'no-store').send({ code, message });
}

/** The block of `cid` when its bytes are inside the CID itself (identity multihash), e.g. the probe CID bafkqaaa. */
function inlineBlock(cid: CID): Uint8Array | undefined {
  return cid.multihash.code === identity.code ? cid.multihash.digest : undefined;
}

/**
 * Registers `GET /ipfs/:cid` (and HEAD): a read-only trustless gateway over the pinner's own storage. It answers
 * raw-block requests only (`Accept: application/vnd.ipld.raw` or `?format=raw`) and never fetches from the network,
 * so clients verify what they get against the CID and unknown CIDs are 404 at once.
 */
export function registerTrustlessGateway(
  app: FastifyInstance,
  pinner: Pinner,
  options: TrustlessGatewayOptions = {},
): void {
  const maxBytes = options.maxBlockBytes ?? DEFAULT_BLOCK_MAX_BYTES;
  app.get('/ipfs/:cid', async (req, reply) => {
    const params = Params.safeParse(req.params);
    const query = Query.safeParse(req.query);
    if (!params.success || !query.success) return fail(reply, 400, 'BAD_REQUEST', 'malformed request');
    const wanted = negotiate(query.data.format, req.headers.accept);
    if (wanted !== 'raw') return fail(reply, wanted.status, 'NOT_ACCEPTABLE', wanted.message);
    let cid: CID;
    try {
      cid = toCid(params.data.cid);
    } catch (err) {
      return fail(reply, 400, 'IPFS_INVALID_CID', (err as Error).message);
    }
    const etag = `"${cid}.raw"`;
    let block = inlineBlock(cid);
    if (block && block.byteLength > maxBytes) {
      return fail(reply, 403, 'IPFS_TOO_LARGE', `block ${cid} is larger than ${maxBytes} bytes`);
    }
    if (!block) {
      try {
        block = await pinner.getBlock(cid, { maxBytes });
      } catch (err) {
        if (isIpfsError(err, 'IPFS_NOT_FOUND')) {
          // A non-recursive gateway: what is not stored here is not available here.
          return /only-if-cached/i.test(req.headers['cache-control'] ?? '')
            ? fail(reply, 412, 'IPFS_NOT_FOUND', `${cid} is not stored on this node`)
            : fail(reply, 404, 'IPFS_NOT_FOUND', `${cid} is not stored on this node`);
        }
        if (isIpfsError(err, 'IPFS_INVALID_CID')) return fail(reply, 400, err.code, err.message);
        if (isIpfsError(err, 'IPFS_TOO_LARGE')) return fail(reply, 403, err.code, err.message);
        if (isIpfsError(err, 'IPFS_TIMEOUT')) return fail(reply, 504, err.code, err.message);
        if (isIpfsError(err, 'IPFS_UNAVAILABLE') || isIpfsError(err, 'IPFS_CLOSED')) {
          return fail(reply, 503, err.code, err.message);
        }
        req.log.error({ err, cid: cid.toString() }, 'gateway block read failed');
        return fail(reply, 500, 'INTERNAL', 'could not read the block');
      }
    }
    reply
      .header('content-type', RAW_BLOCK_MEDIA_TYPE)
      .header('content-disposition', `attachment; filename="${cid}.bin"`)
      .header('etag', etag)
      .header('cache-control', 'public, max-age=29030400, immutable')
      .header('x-content-type-options', 'nosniff')
      .header('x-ipfs-path', `/ipfs/${cid}`)
      .header('vary', 'Accept');
    if (req.headers['if-none-match'] === etag) return reply.status(304).send();
    return reply.send(Buffer.from(block.buffer, block.byteOffset, block.byteLength));
  });
}
