import { parseQType, qtypeName, QType } from '../src/qtype.js';

describe('qtype names', () => {
  it('names known types and falls back to TYPEn', () => {
    expect(qtypeName(1)).toBe('A');
    expect(qtypeName(28)).toBe('AAAA');
    expect(qtypeName(255)).toBe('ANY');
    expect(qtypeName(65535)).toBe('TYPE65535');
  });
  it('parses names, TYPEn and numbers; refuses the rest', () => {
    expect(parseQType('aaaa')).toBe(QType.AAAA);
    expect(parseQType('TYPE65')).toBe(65);
    expect(parseQType('16')).toBe(16);
    expect(parseQType('65536')).toBeUndefined();
    expect(parseQType('NOPE')).toBeUndefined();
  });
});
