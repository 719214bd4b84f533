/**
 * The test parser must itself reject what the format forbids, or the
 * metrics tests built on it prove nothing.
 */
import { parsePrometheusText, PrometheusParseError } from './prometheus-text-parser.js';

describe('the strict Prometheus text parser', () => {
  it('reads families, labels with escapes, and special values', () => {
    const f = parsePrometheusText(
      [
        '# HELP a_total Things\\ncounted',
        '# TYPE a_total counter',
        'a_total{x="q\\"uote",y="back\\\\slash\\nnl"} 3',
        '# TYPE g gauge',
        'g NaN',
        'g{k="v",} -Inf 1700000000000',
        '',
      ].join('\n'),
    );
    expect(f.get('a_total')).toEqual({
      name: 'a_total',
      type: 'counter',
      help: 'Things\ncounted',
      samples: [{ name: 'a_total', labels: { x: 'q"uote', y: 'back\\slash\nnl' }, value: 3 }],
    });
    expect(f.get('g')!.samples.map((s) => s.value)).toEqual([NaN, -Infinity]);
  });

  it.each([
    ['a family split in two groups', '# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na{x="1"} 2\n'],
    ['a second TYPE', '# TYPE a gauge\n# TYPE a counter\n'],
    ['a TYPE after samples', 'a 1\n# TYPE a gauge\n'],
    ['a duplicate series', '# TYPE a gauge\na{x="1"} 1\na{x="1"} 2\n'],
    ['a bad label name', 'a{1x="1"} 1\n'],
    ['an unterminated label value', 'a{x="1} 1\n'],
    ['a bad value', 'a 1,5\n'],
    ['a missing newline at the end', 'a 1'],
    ['a bad escape', 'a{x="\\t"} 1\n'],
    ['a negative counter', '# TYPE c counter\nc -1\n'],
    ['a non-cumulative histogram', '# TYPE h histogram\nh_bucket{le="1"} 5\nh_bucket{le="+Inf"} 3\nh_sum 1\nh_count 3\n'],
    ['a histogram whose count differs from +Inf', '# TYPE h histogram\nh_bucket{le="+Inf"} 3\nh_sum 1\nh_count 4\n'],
  ])('rejects %s', (_what, text) => {
    expect(() => parsePrometheusText(text)).toThrow(PrometheusParseError);
  });

  it('accepts interleaved families in lenient mode', () => {
    const text = '# TYPE a gauge\n# TYPE b gauge\na 1\nb 1\na{x="1"} 2\n';
    expect(() => parsePrometheusText(text)).toThrow(PrometheusParseError);
    expect(parsePrometheusText(text, { strict: false }).get('a')!.samples).toHaveLength(2);
  });
});
