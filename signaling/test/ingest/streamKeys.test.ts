// The stream key store on the real ledger database (PGlite in memory, the committed migrations): only the SHA-256 of a
// secret is stored, a token works until rotated or revoked, and a revoked key says so.
import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseToken, StreamKeys } from '../../src/ingest/StreamKeys.ts';
import { Ledger } from '../../src/ledger/Ledger.ts';

const ALICE = '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY';
const BOB = '5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty';

describe('stream keys in the signaling database', () => {
  let ledger: Ledger;
  let keys: StreamKeys;

  beforeAll(async () => {
    ledger = await Ledger.open({ dataDir: 'memory://' });
    keys = new StreamKeys(ledger);
  });

  afterAll(async () => {
    await ledger?.close();
  });

  const rows = (): Promise<Record<string, unknown>[]> =>
    ledger.use(async (db) => {
      const result = await db.execute(sql`select * from signaling.stream_keys order by created_at`);
      return (result as unknown as { rows: Record<string, unknown>[] }).rows;
    });

  it('stores only the SHA-256 of each secret, never the token', async () => {
    const streamKey = await keys.create(ALICE, 'stream-0001');
    const channelKey = await keys.create(ALICE, null);
    const stored = await rows();
    expect(stored).toHaveLength(2);
    for (const [issued, row] of [
      [streamKey, stored[0]],
      [channelKey, stored[1]],
    ] as const) {
      const parts = parseToken(issued.token);
      expect(parts?.keyId).toBe(issued.key.keyId);
      const expected = createHash('sha256')
        .update(parts?.secret ?? '')
        .digest();
      expect(Buffer.from(row?.secret_hash as Uint8Array).equals(expected)).toBe(true);
      // Neither the token nor its secret appear anywhere in the row, in any encoding the driver gives back.
      const text = JSON.stringify(row, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));
      expect(text).not.toContain(parts?.secret);
      expect(text).not.toContain(Buffer.from(parts?.secret ?? '').toString('hex'));
      expect(text).not.toContain(issued.token);
    }
    expect(stored.map((r) => r.stream_id)).toEqual(['stream-0001', null]);
    expect(await keys.list(ALICE)).toEqual([streamKey.key, channelKey.key]);
    expect(await keys.list(BOB)).toEqual([]);
  });

  it('checks tokens: the right one, an unknown one, a malformed one', async () => {
    const issued = await keys.create(ALICE, null);
    expect(await keys.check(issued.token)).toEqual({ ok: true, key: issued.key });
    const parts = parseToken(issued.token);
    const wrongSecret = `psk_${parts?.keyId}_${'A'.repeat(43)}`;
    expect(await keys.check(wrongSecret)).toEqual({ ok: false, reason: 'unknown' });
    expect(await keys.check(`psk_${'0'.repeat(16)}_${'A'.repeat(43)}`)).toEqual({ ok: false, reason: 'unknown' });
    expect(await keys.check('not-a-key')).toEqual({ ok: false, reason: 'malformed' });
  });

  it('rotates (the old secret stops working) and revokes (for good, said as such) only the creator’s own keys', async () => {
    const issued = await keys.create(ALICE, 'stream-0002');
    expect(await keys.rotate(BOB, issued.key.keyId)).toBeUndefined();
    const rotated = await keys.rotate(ALICE, issued.key.keyId);
    expect(rotated?.key.keyId).toBe(issued.key.keyId);
    expect(rotated?.key.rotatedAt).not.toBeNull();
    expect(await keys.check(issued.token)).toEqual({ ok: false, reason: 'unknown' });
    expect((await keys.check(rotated?.token ?? '')).ok).toBe(true);

    expect(await keys.revoke(BOB, issued.key.keyId)).toBe(false);
    expect(await keys.revoke(ALICE, issued.key.keyId)).toBe(true);
    expect(await keys.revoke(ALICE, issued.key.keyId)).toBe(false);
    expect(await keys.check(rotated?.token ?? '')).toEqual({ ok: false, reason: 'revoked' });
    expect(await keys.rotate(ALICE, issued.key.keyId)).toBeUndefined();
    expect((await keys.list(ALICE)).map((k) => k.keyId)).not.toContain(issued.key.keyId);
  });
});
