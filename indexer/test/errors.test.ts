import { describe, expect, it } from 'vitest';
import { errorCode, errorKind, IndexerError } from '../src/errors.ts';

/** A driver error as pg and PGlite raise them: a message and a SQLSTATE `code`. */
function sqlError(code: string): Error {
  return Object.assign(new Error(`sqlstate ${code}`), { code });
}

describe('errors sorted as retryable or fatal', () => {
  it('retries chain and connection failures', () => {
    expect(errorKind(new IndexerError('RPC_FAILED', 'chain_getBlock failed: timeout'))).toBe('retry');
    expect(errorKind(new IndexerError('CHAIN_UNAVAILABLE', 'no connection'))).toBe('retry');
    expect(errorKind(new Error('WebSocket is not connected'))).toBe('retry');
    expect(errorKind(sqlError('08006'))).toBe('retry'); // connection failure
    expect(errorKind(sqlError('40001'))).toBe('retry'); // serialization failure
    expect(errorKind(sqlError('57P01'))).toBe('retry'); // admin shutdown
  });

  it('stops on what would fail the same way again', () => {
    for (const code of ['FINALITY_VIOLATION', 'DECODE_FAILED', 'CHAIN_DATA_INVALID', 'INTERNAL'] as const) {
      expect(errorKind(new IndexerError(code, code))).toBe('fatal');
      expect(new IndexerError(code, code).fatal).toBe(true);
    }
    expect(errorKind(sqlError('23505'))).toBe('fatal'); // unique violation
    expect(errorKind(sqlError('42P01'))).toBe('fatal'); // undefined table
  });

  it('looks through wrapping errors (drizzle wraps driver errors in `cause`)', () => {
    const wrapped = new Error('Failed query: insert into …', { cause: sqlError('23505') });
    expect(errorKind(wrapped)).toBe('fatal');
    expect(errorCode(wrapped)).toBe('23505');
    const retry = new Error('Failed query', { cause: new IndexerError('RPC_FAILED', 'x') });
    expect(errorKind(retry)).toBe('retry');
    expect(errorCode(retry)).toBe('RPC_FAILED');
    expect(errorCode(new Error('plain'))).toBe('UNKNOWN');
  });
});
