// The `turn` part's pure pieces: its configuration (both or neither, URLs checked) and the TURN REST credential.
import { describe, expect, it } from 'vitest';
import { loadTurnConfig } from '../../src/turn/config.ts';
import { mintTurnCredential } from '../../src/turn/credentials.ts';

const ALICE = '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY';
const SECRET = 'north-wind-shared-secret-42';

describe('TURN configuration', () => {
  it('is off with neither variable, and with empty ones', () => {
    expect(loadTurnConfig({})).toBeUndefined();
    expect(loadTurnConfig({ TURN_URLS: '', TURN_SECRET: '' })).toBeUndefined();
  });

  it('parses the URLs, the secret and the TTL (one day by default)', () => {
    expect(
      loadTurnConfig({
        TURN_URLS: 'turn:127.0.0.1:3478?transport=udp, turn:127.0.0.1:3478?transport=tcp,turns:turn.example.com:5349',
        TURN_SECRET: SECRET,
      }),
    ).toEqual({
      urls: ['turn:127.0.0.1:3478?transport=udp', 'turn:127.0.0.1:3478?transport=tcp', 'turns:turn.example.com:5349'],
      secret: SECRET,
      ttlSeconds: 86_400,
    });
    expect(loadTurnConfig({ TURN_URLS: 'turn:h:3478', TURN_SECRET: SECRET, TURN_TTL_SECONDS: '600' })?.ttlSeconds).toBe(
      600,
    );
  });

  it('refuses one without the other, bad URLs, short secrets and TTLs out of range', () => {
    expect(() => loadTurnConfig({ TURN_URLS: 'turn:h:3478' })).toThrow(/TURN_URLS and TURN_SECRET together/);
    expect(() => loadTurnConfig({ TURN_SECRET: SECRET })).toThrow(/TURN_URLS and TURN_SECRET together/);
    expect(() => loadTurnConfig({ TURN_URLS: 'http://h:3478', TURN_SECRET: SECRET })).toThrow(/TURN_URLS/);
    expect(() => loadTurnConfig({ TURN_URLS: 'turn:h:3478?transport=sctp', TURN_SECRET: SECRET })).toThrow();
    expect(() => loadTurnConfig({ TURN_URLS: 'turn:h:3478', TURN_SECRET: 'short' })).toThrow(/TURN_SECRET/);
    expect(() => loadTurnConfig({ TURN_URLS: 'turn:h', TURN_SECRET: SECRET, TURN_TTL_SECONDS: '10' })).toThrow(
      /TURN_TTL_SECONDS/,
    );
  });

  it('never puts the secret in its error messages', () => {
    try {
      loadTurnConfig({ TURN_URLS: 'nope', TURN_SECRET: SECRET });
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).not.toContain(SECRET);
    }
  });
});

describe('TURN REST credential', () => {
  it('is `<expiry>:<wallet>` with base64(HMAC-SHA1(secret, username)) (vector computed with Python hmac)', () => {
    const c = mintTurnCredential(SECRET, ALICE, 600, 1_700_000_000_000);
    expect(c).toEqual({
      username: `1700000600:${ALICE}`,
      credential: 'alSYuWqlVSW3HfeLwyiiy0AcCbo=',
      expiresAt: 1_700_000_600_000,
    });
  });

  it('refuses a name with a colon (it would shift the expiry coturn reads)', () => {
    expect(() => mintTurnCredential(SECRET, 'a:b', 600)).toThrow(/":"/);
  });
});
