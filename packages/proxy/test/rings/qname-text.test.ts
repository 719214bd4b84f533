import { compareWireReversed, lowerCaseWire, trimToLabels } from '@dnsdist-ts/dataplane/rings/qname-text.js';

describe('trimToLabels', () => {
  it('keeps the last N labels', () => {
    expect(trimToLabels('www.example.com.', 2)).toBe('example.com.');
    expect(trimToLabels('www.example.com.', 1)).toBe('com.');
    expect(trimToLabels('www.example.com.', 0)).toBe('.');
    expect(trimToLabels('www.example.com.', 3)).toBe('www.example.com.');
    expect(trimToLabels('www.example.com.', 7)).toBe('www.example.com.');
    expect(trimToLabels('.', 1)).toBe('.');
    expect(trimToLabels('.', 0)).toBe('.');
  });

  it('keeps names whole for a negative count (dnsdist reads it as a huge unsigned number)', () => {
    expect(trimToLabels('www.example.com.', -1)).toBe('www.example.com.');
  });

  it('splits at unescaped dots only', () => {
    expect(trimToLabels('a\\.b.example.', 1)).toBe('example.');
    expect(trimToLabels('a\\.b.example.', 2)).toBe('a\\.b.example.');
    expect(trimToLabels('x.a\\\\.example.', 2)).toBe('a\\\\.example.');
    expect(trimToLabels('x.\\046.example.', 2)).toBe('\\046.example.');
  });
});

describe('compareWireReversed', () => {
  const order = (names: string[]): string[] => [...names].sort((a, b) => compareWireReversed(lowerCaseWire(a), lowerCaseWire(b)));

  it('orders names as dnsdist std::map<DNSName> does', () => {
    expect(
      order(['www.example.com.', 'nx1.example.org.', 'sf.example.net.', 'a.b.example.com.', 'Mixed.Example.COM.', 'norec.example.com.']),
    ).toEqual(['nx1.example.org.', 'a.b.example.com.', 'norec.example.com.', 'Mixed.Example.COM.', 'www.example.com.', 'sf.example.net.']);
    // A name sorts before the names below it (shorter reversed prefix first), the root first of all.
    expect(order(['b.example.', 'example.', '.'])).toEqual(['.', 'example.', 'b.example.']);
  });
});
