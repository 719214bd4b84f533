import { SuffixMatchNode } from '../src/suffix-match-node.js';
import { DNSName } from '../src/dns-name.js';
import { DnsNameError } from '../src/errors.js';

const n = (s: string) => DNSName.fromString(s);

describe('SuffixMatchNode', () => {
  it('matches names equal to or below an added domain, ignoring case', () => {
    const smn = new SuffixMatchNode();
    smn.add('Example.COM').add(n('evil.'));
    expect(smn.check(n('example.com'))).toBe(true);
    expect(smn.check(n('www.EXAMPLE.com.'))).toBe(true);
    expect(smn.check(n('a.b.c.example.com'))).toBe(true);
    expect(smn.check(n('bad.evil'))).toBe(true);
    expect(smn.check(n('xexample.com'))).toBe(false);
    expect(smn.check(n('com'))).toBe(false);
    expect(smn.check(n('example.org'))).toBe(false);
    expect(smn.check(DNSName.ROOT)).toBe(false);
  });

  it('gives the most specific added domain, as it was added', () => {
    const smn = SuffixMatchNode.from(['example.com', 'Sub.Example.com', 'deep.sub.example.com']);
    expect(smn.bestMatch(n('www.sub.example.com'))?.toString()).toBe('Sub.Example.com.');
    expect(smn.bestMatch(n('x.deep.SUB.example.com'))?.toString()).toBe('deep.sub.example.com.');
    expect(smn.bestMatch(n('other.example.com'))?.toString()).toBe('example.com.');
    expect(smn.bestMatch(n('example.net'))).toBeUndefined();
  });

  it('matches everything once the root is added', () => {
    const smn = new SuffixMatchNode().add('.');
    expect(smn.check(n('anything.at.all'))).toBe(true);
    expect(smn.check(DNSName.ROOT)).toBe(true);
    expect(smn.bestMatch(n('x'))).toBe(DNSName.ROOT);
  });

  it('compares labels as bytes, folding ASCII only', () => {
    const smn = SuffixMatchNode.from(['a\\.b.com', '\\192.net']);
    expect(smn.check(n('x.A\\.B.com'))).toBe(true);
    expect(smn.check(n('a.b.com'))).toBe(false);
    expect(smn.check(n('\\192.net'))).toBe(true);
    expect(smn.check(n('\\224.net'))).toBe(false);
  });

  it('counts, lists and ignores a domain added twice', () => {
    const smn = new SuffixMatchNode();
    smn.add('example.com').add('EXAMPLE.com.').add('evil');
    expect(smn.size()).toBe(2);
    expect(smn.toStrings()).toEqual(['example.com.', 'evil.']);
    expect(smn.toString()).toBe('example.com., evil.');
  });

  it('removes domains without disturbing others', () => {
    const smn = SuffixMatchNode.from(['example.com', 'www.example.com', 'other.com']);
    expect(smn.remove('Example.com')).toBe(true);
    expect(smn.remove('example.com')).toBe(false);
    expect(smn.remove('nothere.com')).toBe(false);
    expect(smn.remove('com')).toBe(false);
    expect(smn.size()).toBe(2);
    expect(smn.check(n('example.com'))).toBe(false);
    expect(smn.check(n('x.www.example.com'))).toBe(true);
    expect(smn.remove(n('www.example.com'))).toBe(true);
    expect(smn.check(n('x.www.example.com'))).toBe(false);
    expect(smn.check(n('other.com'))).toBe(true);
    expect(smn.toStrings()).toEqual(['other.com.']);
    smn.add('example.com');
    expect(smn.check(n('www.example.com'))).toBe(true);
  });

  it('clears', () => {
    const smn = SuffixMatchNode.from(['.', 'a']);
    smn.clear();
    expect(smn.size()).toBe(0);
    expect(smn.check(n('a'))).toBe(false);
  });

  it('rejects invalid names', () => {
    expect(() => new SuffixMatchNode().add('a..b')).toThrow(DnsNameError);
  });
});
