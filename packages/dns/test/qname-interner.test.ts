import fc from 'fast-check';
import { DnsQueryView } from '../src/dns-query-view.js';
import { DNSName } from '../src/dns-name.js';

function query(name: string): Buffer {
  const wire = DNSName.fromString(name).toWire();
  return Buffer.concat([Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), wire, Buffer.from([0, 1, 0, 1])]);
}

describe('query name interning', () => {
  it('gives the same string object for a name seen before, whatever its case, across views', () => {
    const a = new DnsQueryView();
    const b = new DnsQueryView();
    a.parse(query('www.Example.com'));
    const first = a.qname;
    b.parse(query('other.example'));
    b.parse(query('WWW.example.COM'));
    expect(b.qname).toBe('www.example.com.');
    expect(Object.is(b.qname, first)).toBe(true);
  });

  it('never returns another name text, even when many names share table slots', () => {
    const view = new DnsQueryView();
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[a-z0-9]{1,12}(\.[a-z0-9]{1,12}){0,3}$/), { minLength: 1, maxLength: 50 }), (names) => {
        for (const n of [...names, ...names.reverse()]) {
          view.parse(query(n));
          expect(view.qname).toBe(`${n}.`);
        }
      }),
    );
  });
});
