import { Rings } from '@dnsdist-ts/dataplane/rings/rings.js';
import { AA, BACKEND, RD, TC, makeQuery, makeResponse } from './ring-fixtures.js';

const NOW = 10_000;

/** One expected line, by hand: "%-7.1f %-47s %-12s %-12s %-5d %-25s %-5s %-6.1f %-2s %-2s %-2s %-s". */
function row(
  time: string,
  client: string,
  protocol: string,
  server: string,
  id: string,
  name: string,
  type: string,
  lat: string,
  flags: string,
  rcode: string,
): string {
  const [tc, rd, aa] = flags.split(',') as [string, string, string];
  return (
    [
      time.padEnd(7),
      client.padEnd(47),
      protocol.padEnd(12),
      server.padEnd(12),
      id.padEnd(5),
      name.padEnd(25),
      type.padEnd(5),
      lat.padEnd(6),
      tc.padEnd(2),
      rd.padEnd(2),
      aa.padEnd(2),
      rcode,
    ].join(' ') + '\n'
  );
}

const HEADER = row('Time', 'Client', 'Protocol', 'Server', 'ID', 'Name', 'Type', 'Lat.', 'TC,RD,AA', 'Rcode');

const Q1 = row('-2.0', '192.0.2.1:5300', 'DoUDP', '', '1', 'www.example.com.', 'A', '', ',RD,', 'Question');
const R1 = row('-2.0', '192.0.2.1:5300', 'DoUDP', '198.51.100.53:53', '1', 'www.example.com.', 'A', '1.5', ',RD,', 'No Error. 2 answers');
const Q2 = row('-1.0', '[2001:db8::1]:53', 'DoTCP', '', '2', 'nx.example.org.', 'AAAA', '', ',RD,', 'Question');
const R2 = row(
  '-1.0',
  '[2001:db8::1]:53',
  'DoTCP',
  '198.51.100.53:53',
  '2',
  'nx.example.org.',
  'AAAA',
  '30.0',
  ',RD,',
  'Non-Existent domain',
);
const Q3 = row('-0.5', '192.0.2.1:5301', 'DoUDP', '', '3', 'status.example.com.', 'TXT', '', ',,', 'Question (Status)');
const T3 = row(
  '-0.1',
  '192.0.2.1:5301',
  'DoUDP',
  '198.51.100.53:53',
  '3',
  'status.example.com.',
  'TXT',
  'T.O',
  ',,',
  'No Error. 0 answers',
);
const Q4 = row('-0.1', '192.0.2.77:1', 'DoUDP', '', '4', 'cached.example.com.', 'A', '', ',RD,', 'Question');
const R4 = row('-0.1', '192.0.2.77:1', '-', 'Cache', '4', 'cached.example.com.', 'A', '0.0', 'TC,RD,AA', 'Query Refused');

function filled(): Rings {
  const rings = new Rings(100, 3);
  const q1 = makeQuery({ name: 'www.example.com', id: 1, client: '192.0.2.1', port: 5300, at: 8000 });
  rings.recordQuery(q1);
  rings.recordResponse(makeResponse(q1, { answers: 2, latencyUsec: 1500 }), 8001.5);
  const q2 = makeQuery({ name: 'nx.example.org', type: 'AAAA', id: 2, client: '2001:db8::1', port: 53, transport: 'tcp', at: 9000 });
  rings.recordQuery(q2);
  rings.recordResponse(makeResponse(q2, { rcode: 3, latencyUsec: 30_000 }), 9030);
  const q3 = makeQuery({ name: 'status.example.com', type: 'TXT', id: 3, flags: 2 << 11, port: 5301, at: 9500 });
  rings.recordQuery(q3);
  rings.recordTimeout(q3, BACKEND, 9900);
  // Same time for the question and its answer: the question is printed first.
  const q4 = makeQuery({ name: 'cached.example.com', id: 4, client: '192.0.2.77', port: 1, at: 9950 });
  rings.recordResponse(makeResponse(q4, { rcode: 5, flags: TC | AA, latencyUsec: 0, server: null }), 9950);
  rings.recordQuery(q4);
  return rings;
}

describe('grepq', () => {
  const rings = filled();

  it('prints the header and every entry, oldest first, for the root or ""', () => {
    expect(rings.grepq('', 0, NOW)).toBe(HEADER + Q1 + R1 + Q2 + R2 + Q3 + T3 + Q4 + R4);
    expect(rings.grepq('.', 0, NOW)).toBe(HEADER + Q1 + R1 + Q2 + R2 + Q3 + T3 + Q4 + R4);
  });

  it('selects by netmask on the client address', () => {
    expect(rings.grepq('192.0.2.0/24', 0, NOW)).toBe(HEADER + Q1 + R1 + Q3 + T3 + Q4 + R4);
    expect(rings.grepq('192.0.2.1', 0, NOW)).toBe(HEADER + Q1 + R1 + Q3 + T3);
    expect(rings.grepq('2001:db8::/32', 0, NOW)).toBe(HEADER + Q2 + R2);
    expect(rings.grepq('203.0.113.0/24', 0, NOW)).toBe(HEADER);
  });

  it('selects by name: the name itself and names below it, any case', () => {
    expect(rings.grepq('example.org', 0, NOW)).toBe(HEADER + Q2 + R2);
    expect(rings.grepq('EXAMPLE.com.', 0, NOW)).toBe(HEADER + Q1 + R1 + Q3 + T3 + Q4 + R4);
    expect(rings.grepq('www.example.com', 0, NOW)).toBe(HEADER + Q1 + R1);
    expect(rings.grepq('ample.com', 0, NOW)).toBe(HEADER);
  });

  it('selects answers slower than NNms (whole milliseconds), showing no questions', () => {
    expect(rings.grepq('10ms', 0, NOW)).toBe(HEADER + R2 + T3);
    expect(rings.grepq('30ms', 0, NOW)).toBe(HEADER + T3);
    expect(rings.grepq('1ms', 0, NOW)).toBe(HEADER + R2 + T3);
  });

  it('needs every selector to match; the last of a kind wins', () => {
    expect(rings.grepq(['example.com', '192.0.2.1'], 0, NOW)).toBe(HEADER + Q1 + R1 + Q3 + T3);
    expect(rings.grepq(['example.com', '5ms'], 0, NOW)).toBe(HEADER + T3);
    expect(rings.grepq(['example.org', 'example.com', '2001:db8::1', '192.0.2.77'], 0, NOW)).toBe(HEADER + Q4 + R4);
  });

  it('keeps the most recent num questions and num answers', () => {
    expect(rings.grepq('', 1, NOW)).toBe(HEADER + Q4 + R4);
    expect(rings.grepq('192.0.2.1', 1, NOW)).toBe(HEADER + Q3 + T3);
    expect(rings.grepq('example.com', 2, NOW)).toBe(HEADER + Q3 + T3 + Q4 + R4);
  });

  it('answers dnsdist’s message for a selector it cannot read', () => {
    expect(rings.grepq('bad..name', 0, NOW)).toBe("Could not parse 'bad..name' as domain name or netmask");
    expect(rings.grepq(['192.0.2.1', 'a..b'], 0, NOW)).toBe("Could not parse 'a..b' as domain name or netmask");
  });

  it('reads "NNms" like sscanf("%ums"): digits first, anything else is a name', () => {
    expect(rings.grepq('10xms', 0, NOW)).toBe(HEADER + R2 + T3);
    // Not a latency, not a netmask: names that match nothing.
    expect(rings.grepq('abcms', 0, NOW)).toBe(HEADER);
    expect(rings.grepq('192.0.2.1:5300', 0, NOW)).toBe(HEADER);
  });

  it('prints times relative to now and lets long fields push the next ones', () => {
    const long = new Rings(10, 1);
    const dq = makeQuery({ name: 'a-rather-long-label.subdomain.example.com', id: 65535, flags: RD, at: 0 });
    long.recordQuery(dq);
    expect(long.grepq('', 0, 123_456)).toBe(
      HEADER +
        '-123.5  192.0.2.1:5300' +
        ' '.repeat(33) +
        ' DoUDP        ' +
        ' '.repeat(12) +
        ' 65535 a-rather-long-label.subdomain.example.com. A' +
        ' '.repeat(15) +
        'RD    Question\n',
    );
  });
});
