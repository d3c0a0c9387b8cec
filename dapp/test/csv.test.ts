import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EarningsSchema } from '../src/lib/api/earnings.ts';
import { toCsv } from '../src/lib/format/csv.ts';
import { EARNINGS_CSV_HEADER, earningsCsv } from '../src/lib/format/earningsCsv.ts';

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

/** An amounts entry as the indexer writes it: decimal strings, each kind on its own. */
function wire(
  asset: string | number,
  live: [string, string],
  tip: [string, string],
  replay: [string, string] = ['0', '0'],
) {
  const add = (i: 0 | 1) => (BigInt(live[i]) + BigInt(tip[i]) + BigInt(replay[i])).toString();
  return {
    asset,
    pending: add(0),
    final: add(1),
    kinds: {
      live: { pending: live[0], final: live[1] },
      replay: { pending: replay[0], final: replay[1] },
      tip: { pending: tip[0], final: tip[1] },
    },
  };
}

/** The indexer's answer with `streams` and nothing else. */
const answer = (streams: object[]) => ({
  creator: '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY',
  from: '2026-12-06T00:00:00.000Z',
  to: '2026-12-07T00:00:00.000Z',
  bucket: 'hour',
  totals: [],
  streams,
  buckets: [],
});

describe('earningsCsv', () => {
  it('keeps the earlier columns and adds each kind’s pending and final planck', () => {
    const earnings = EarningsSchema.parse(
      answer([
        {
          streamId: 'stream-one',
          title: '=Cooking, "live"',
          ...wire('native', ['7', '3000000000000'], ['0', '500000000000'], ['2', '250000000000']),
        },
        {
          streamId: 'stream-one',
          title: '=Cooking, "live"',
          ...wire('1984', ['0', '0'], ['25', '340282366920938463463374607431768211000']),
        },
        { streamId: 'stream-two', title: null, ...wire('native', ['0', '1'], ['0', '0']) },
      ]),
    );
    const rows = parseCsv(earningsCsv(earnings.streams, { native: { symbol: 'ROC', decimals: 12 } }));
    expect(rows).toEqual([
      // The first six as before kinds existed, then each kind's (replay after the earlier two), then the title.
      [
        'stream_id',
        'asset',
        'final_planck',
        'pending_planck',
        'final_tokens',
        'symbol',
        'live_pending_planck',
        'live_final_planck',
        'tip_pending_planck',
        'tip_final_planck',
        'replay_pending_planck',
        'replay_final_planck',
        'title',
      ],
      [
        'stream-one',
        'native',
        '3750000000000',
        '9',
        '3.75',
        'ROC',
        '7',
        '3000000000000',
        '0',
        '500000000000',
        '2',
        '250000000000',
        // A title is text: one that starts like a formula is neutralised, quotes and commas kept.
        `'=Cooking, "live"`,
      ],
      [
        'stream-one',
        '1984',
        '340282366920938463463374607431768211000',
        '25',
        '',
        '',
        '0',
        '0',
        '25',
        '340282366920938463463374607431768211000',
        '0',
        '0',
        `'=Cooking, "live"`,
      ],
      ['stream-two', 'native', '1', '0', '0.000000000001', 'ROC', '0', '1', '0', '0', '0', '0', ''],
    ]);
  });

  it('the kinds add up to the total columns for any amounts', () => {
    const planck = fc.bigInt({ min: 0n, max: 10n ** 30n }).map(String);
    const pair = fc.tuple(planck, planck);
    fc.assert(
      fc.property(pair, pair, pair, (live, tip, replay) => {
        const entry = { streamId: 'stream-one', title: null, ...wire('native', live, tip, replay) };
        const earnings = EarningsSchema.parse(answer([entry]));
        const [, row] = parseCsv(earningsCsv(earnings.streams, {}));
        const cell = (name: (typeof EARNINGS_CSV_HEADER)[number]) =>
          BigInt(row?.[EARNINGS_CSV_HEADER.indexOf(name)] ?? '');
        const kinds = (status: 'pending' | 'final') =>
          cell(`live_${status}_planck`) + cell(`tip_${status}_planck`) + cell(`replay_${status}_planck`);
        expect(kinds('pending')).toBe(cell('pending_planck'));
        expect(kinds('final')).toBe(cell('final_planck'));
      }),
    );
  });

  it('refuses an answer without kinds, with an unknown kind, or whose kinds do not add up', () => {
    const good = { streamId: 'stream-one', title: 'One', ...wire('native', ['1', '2'], ['3', '4'], ['5', '6']) };
    expect(EarningsSchema.safeParse(answer([good])).success).toBe(true);
    const { kinds: _, ...noKinds } = good;
    const extraKind = { ...good, kinds: { ...good.kinds, bonus: { pending: '0', final: '0' } } };
    const offByOne = { ...good, final: '7' };
    for (const bad of [noKinds, extraKind, offByOne]) {
      expect(EarningsSchema.safeParse(answer([bad])).success).toBe(false);
    }
  });
});
