import { dnsParameter, matchPath, splitTarget } from '@dnsdist-ts/dataplane/doh/doh-paths.js';
import { wellFormedQuestion } from '@dnsdist-ts/dataplane/doh/dns-question-check.js';
import { DohResponseMapEntry } from '@dnsdist-ts/dataplane/doh/doh-response-map.js';

describe('DoH paths (pure logic)', () => {
  it.each([
    [['/dns-query'], '/dns-query', true, 'served'],
    [['/dns-query'], '/dns-query/below', true, 'no-endpoint'],
    [['/dns-query'], '/dns-query/below', false, 'served'],
    [['/dns-query'], '/dns-queryx', true, 'not-found'],
    [['/dns-query'], '/', true, 'not-found'],
    [['/'], '/anything/at/all', true, 'no-endpoint'],
    [['/'], '/anything', false, 'served'],
    [['/PowerDNS'], '/NotPowerDNS', false, 'not-found'],
  ] as const)('%j serving %s (exact %s): %s', (urls, path, exact, expected) => {
    expect(matchPath(urls, path, exact)).toBe(expected);
  });

  it('reads the dns parameter wherever it is and stops at the next parameter', () => {
    const msg = Buffer.from([1, 2, 3, 250, 251]);
    const b64 = msg.toString('base64url');
    expect(dnsParameter(`?dns=${b64}`)).toEqual({ ok: true, message: msg });
    expect(dnsParameter(`?x=1&dns=${b64}&y=2`)).toEqual({ ok: true, message: msg });
    expect(dnsParameter(`?dns=${msg.toString('base64')}`)).toEqual({ ok: true, message: msg });
  });

  it.each([
    ['', 'Unable to parse the request'],
    ['?dns=', 'Unable to parse the request'],
    ['?x=123456', 'Unable to find the DNS parameter'],
    ['?xdns=AAAA', 'Unable to find the DNS parameter'],
    ['?dns=AA!A', 'Unable to decode BASE64-URL'],
    ['?dns=AAAAA', 'Unable to decode BASE64-URL'],
  ])('%j: %s', (qs, reason) => {
    expect(dnsParameter(qs)).toEqual({ ok: false, reason });
  });

  it('splits a request target at its first "?"', () => {
    expect(splitTarget('/a?b=c?d')).toEqual({ path: '/a', queryString: '?b=c?d' });
    expect(splitTarget('/a')).toEqual({ path: '/a', queryString: '' });
  });
});

describe('wellFormedQuestion', () => {
  const header = Buffer.alloc(12);
  it.each([
    ['a header alone', header, false],
    ['a name and a type', Buffer.concat([header, Buffer.from([1, 0x61, 0, 0, 1])]), true],
    ['a name without its type', Buffer.concat([header, Buffer.from([1, 0x61, 0, 0])]), false],
    ['a label running past the end', Buffer.concat([header, Buffer.from([9, 0x61, 0, 0, 1])]), false],
    ['a compression pointer', Buffer.concat([header, Buffer.from([0xc0, 12, 0, 1])]), true],
    ['a reserved label type', Buffer.concat([header, Buffer.from([0x41, 0, 0, 1])]), false],
  ])('%s: %s', (_what, message, ok) => {
    expect(wellFormedQuestion(message)).toBe(ok);
  });
});

describe('DohResponseMapEntry', () => {
  it('matches paths by regular expression and lower-cases its header names', () => {
    const e = new DohResponseMapEntry('^/coffee$', 418, Buffer.from('C0FFEE'), [['FoO', 'bar']]);
    expect([e.matches('/coffee'), e.matches('/coffee/x')]).toEqual([true, false]);
    expect(e.headers).toEqual([['foo', 'bar']]);
  });
  it('refuses a bad expression or status, naming it', () => {
    expect(() => new DohResponseMapEntry('(', 200, Buffer.alloc(0))).toThrow(/"\(" did not compile/);
    expect(() => new DohResponseMapEntry('^/$', 42, Buffer.alloc(0))).toThrow(/HTTP status 42/);
  });
});
