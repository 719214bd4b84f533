import { formatJson11 } from '@dnsdist-ts/web/web/json11-format.js';

describe('formatJson11', () => {
  it('writes JSON as dnsdist’s json11 does: sorted keys, ", " and ": "', () => {
    const text = formatJson11({ b: [1, 'x', null, true], a: { z: 0.5, y: undefined }, 'c-d': '"q"\n' });
    expect(text).toBe('{"a": {"y": null, "z": 0.5}, "b": [1, "x", null, true], "c-d": "\\"q\\"\\n"}');
    expect(JSON.parse(text)).toEqual({ a: { y: null, z: 0.5 }, b: [1, 'x', null, true], 'c-d': '"q"\n' });
    expect(formatJson11({})).toBe('{}');
    expect(formatJson11([])).toBe('[]');
    expect(formatJson11(Infinity)).toBe('null');
  });
});
