import { ERROR_CODES } from '@persecond/signaling/protocol';
import { describe, expect, it } from 'vitest';
import { explain, explainCode, isErrorCode, UserFacingError } from '../src/lib/errors.ts';

describe('error sentences', () => {
  it('has a sentence for every stable code, and none shows a raw code', () => {
    for (const code of ERROR_CODES) {
      const sentence = explainCode(code);
      expect(sentence).toMatch(/^[A-Z].*\.$/);
      for (const other of ERROR_CODES) expect(sentence).not.toContain(other);
    }
    expect(new Set(ERROR_CODES.map(explainCode)).size).toBe(ERROR_CODES.length);
  });

  it('recognises only stable codes', () => {
    expect(ERROR_CODES.every(isErrorCode)).toBe(true);
    expect(isErrorCode('NOT_A_CODE')).toBe(false);
    expect(isErrorCode(42)).toBe(false);
  });

  it('never leaks internals of unknown failures', () => {
    const internal = new Error('ECONNRESET at Socket.onread (node:net:123)');
    expect(explain(internal)).toBe('Something went wrong. Please try again.');
    expect(explain(UserFacingError.fromCode('CAPACITY_FULL'))).toBe(explainCode('CAPACITY_FULL'));
    expect(explain(new Error('Rejected by user'))).toBe('The request was cancelled in your wallet.');
  });
});
