import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toCsv } from '../src/lib/format/csv.ts';

/** A small RFC 4180 reader, to check what the writer produces. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  return rows;
}

describe('toCsv', () => {
  it('keeps planck amounts exact and quotes what needs quoting', () => {
    const csv = toCsv(['stream', 'final'], [['a,"b"', 340282366920938463463374607431768211455n]]);
    expect(csv).toBe('stream,final\r\n"a,""b""",340282366920938463463374607431768211455\r\n');
  });

  it('neutralises spreadsheet formulas', () => {
    expect(parseCsv(toCsv(['t'], [['=HYPERLINK("x")']]))).toEqual([['t'], [`'=HYPERLINK("x")`]]);
  });

  it('round-trips any text that does not start like a formula', () => {
    const cell = fc.string({ unit: 'grapheme', maxLength: 20 }).filter((s) => !/^[=+\-@\t\r]/.test(s));
    fc.assert(
      fc.property(fc.array(fc.array(cell, { minLength: 3, maxLength: 3 }), { maxLength: 5 }), (rows) => {
        expect(parseCsv(toCsv(['a', 'b', 'c'], rows))).toEqual([['a', 'b', 'c'], ...rows]);
      }),
    );
  });
});
