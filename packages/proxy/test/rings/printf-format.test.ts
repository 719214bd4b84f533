import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { formatFixed, formatPrintf } from '@dnsdist-ts/dataplane/rings/printf-format.js';

describe('formatFixed', () => {
  it('rounds exact ties to even, like glibc printf', () => {
    expect(formatFixed(0.25, 1)).toBe('0.2');
    expect(formatFixed(0.75, 1)).toBe('0.8');
    expect(formatFixed(12.25, 1)).toBe('12.2');
    expect(formatFixed(2.5, 0)).toBe('2');
    expect(formatFixed(3.5, 0)).toBe('4');
    expect(formatFixed(-0.25, 1)).toBe('-0.2');
  });

  it('rounds values that only look like ties by their binary value', () => {
    // 0.15 is 0.1499999…, 0.35 is 0.34999…, 1.005 is 1.00499…
    expect(formatFixed(0.15, 1)).toBe('0.1');
    expect(formatFixed(0.35, 1)).toBe('0.3');
    expect(formatFixed(1.005, 2)).toBe('1.00');
    expect(formatFixed(100 / 3, 1)).toBe('33.3');
  });

  it('keeps the sign of small negative values and of -0', () => {
    expect(formatFixed(-0.04, 1)).toBe('-0.0');
    expect(formatFixed(-0, 1)).toBe('-0.0');
    expect(formatFixed(0, 1)).toBe('0.0');
  });

  it('agrees with the C library on random values', () => {
    const values = fc.sample(
      fc.oneof(
        fc.double({ min: -1e6, max: 1e6, noNaN: true }),
        fc.integer({ min: -4000, max: 4000 }).map((n) => n / 8),
      ),
      300,
    );
    const expected = execFileSync('printf', ['%.1f\\n', ...values.map((v) => (Object.is(v, -0) ? '-0' : v.toPrecision(17)))], {
      encoding: 'utf8',
      env: { LC_ALL: 'C' },
    }).split('\n');
    values.forEach((v, i) => expect([v, formatFixed(v, 1)]).toEqual([v, expected[i]]));
  });
});

describe('formatPrintf', () => {
  it('pads and aligns like printf', () => {
    expect(formatPrintf('%4d  %-40s %4d %4.1f%%\n', [1, 'example.com.', 12, 27.272727])).toBe(
      '   1  example.com.                               12 27.3%\n',
    );
    expect(formatPrintf('[%5s|%-5s|%05d|%+d|% d|%.02f]', ['ab', 'cd', -42, 3, 4, 1.005])).toBe('[   ab|cd   |-0042|+3| 4|1.00]');
  });

  it('prints strings given to numeric conversions as they are, like boost::format', () => {
    expect(formatPrintf('%-7.1f|%-5d|%-6.1f|', ['Time', 'ID', 'Lat.'])).toBe('Time   |ID   |Lat.  |');
    expect(formatPrintf('%-6.1f|%4d', ['', 'Rest'])).toBe('      |Rest');
  });

  it('never truncates a value longer than its width', () => {
    expect(formatPrintf('%-12s|', ['127.0.0.1:15301'])).toBe('127.0.0.1:15301|');
  });
});
