import {
  formatDouble,
  formatSampleValue,
  PrometheusFormatError,
  PrometheusTextWriter,
} from '@dnsdist-ts/web/metrics/prometheus-text-writer.js';
import { parsePrometheusText } from './prometheus-text-parser.js';

describe('PrometheusTextWriter', () => {
  it('writes HELP, TYPE and samples that the strict parser reads back', () => {
    const w = new PrometheusTextWriter();
    w.family('t_total', 'counter', 'A help with a \\ backslash\nand a newline');
    w.sample('t_total', 3n, [['key', 'a "quoted"\\ value\nx']]);
    w.family('h', 'histogram', 'hist');
    w.sample('h_bucket', 1, [['le', '1']]);
    w.sample('h_bucket', 2, [['le', '+Inf']]);
    w.sample('h_sum', 0.5);
    w.sample('h_count', 2);
    const families = parsePrometheusText(w.text());
    expect(families.get('t_total')).toEqual({
      name: 't_total',
      type: 'counter',
      help: 'A help with a \\ backslash\nand a newline',
      samples: [{ name: 't_total', labels: { key: 'a "quoted"\\ value\nx' }, value: 3 }],
    });
    expect(families.get('h')!.samples.map((s) => s.name)).toEqual(['h_bucket', 'h_bucket', 'h_sum', 'h_count']);
  });

  it('refuses a family written twice, samples outside their family, and bad names', () => {
    const w = new PrometheusTextWriter();
    w.family('a', 'gauge', 'a');
    expect(() => w.family('a', 'gauge', 'a')).toThrow(PrometheusFormatError);
    expect(() => w.sample('b', 1)).toThrow(/outside its family/);
    expect(() => w.family('1bad', 'gauge', 'x')).toThrow(/not a valid Prometheus metric name/);
    expect(() => w.sample('a', 1, [['__reserved', 'x']])).toThrow(/label name/);
  });
});

describe('number formatting', () => {
  it.each([
    [0, '0'],
    [1, '1'],
    [0.5, '0.5'],
    [0.123456789, '0.123457'],
    [123.456789, '123.457'],
    [999999.4, '999999'],
    [1234567.8, '1.23457e+06'],
    [0.00001234, '1.234e-05'],
    [0.0001234, '0.0001234'],
    [999999.5, '1e+06'],
    [-2.5, '-2.5'],
    [Infinity, '+Inf'],
    [NaN, 'NaN'],
  ])('formats the double %p as C++ streams do: %p', (v, text) => {
    expect(formatDouble(v)).toBe(text);
  });

  it('prints integers and bigints whole', () => {
    expect(formatSampleValue(61620224)).toBe('61620224');
    expect(formatSampleValue(2n ** 63n)).toBe('9223372036854775808');
  });
});
