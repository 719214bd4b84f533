import {
  DNS_HEADER_SIZE,
  HeaderFlag,
  Opcode,
  Rcode,
  extendedRcodeName,
  parseRcode,
  rcodeName,
  readFlags,
  readId,
  writeFlags,
  writeId,
} from '../src/dns-header.js';

describe('rcodeName', () => {
  it('gives the texts dnsdist prints', () => {
    expect(rcodeName(Rcode.NoError)).toBe('No Error');
    expect(rcodeName(Rcode.FormErr)).toBe('Form Error');
    expect(rcodeName(Rcode.ServFail)).toBe('Server Failure');
    expect(rcodeName(Rcode.NXDomain)).toBe('Non-Existent domain');
    expect(rcodeName(Rcode.NotImp)).toBe('Not Implemented');
    expect(rcodeName(Rcode.Refused)).toBe('Query Refused');
    expect(rcodeName(Rcode.YXDomain)).toBe('Name Exists when it should not');
    expect(rcodeName(Rcode.YXRRSet)).toBe('RR Set Exists when it should not');
    expect(rcodeName(Rcode.NXRRSet)).toBe('RR Set that should exist does not');
    expect(rcodeName(Rcode.NotAuth)).toBe('Server Not Authoritative for zone / Not Authorized');
    expect(rcodeName(Rcode.NotZone)).toBe('Name not contained in zone');
  });

  it('names unassigned header codes Err#N and anything beyond 15 ErrOutOfRange', () => {
    expect(rcodeName(11)).toBe('Err#11');
    expect(rcodeName(15)).toBe('Err#15');
    expect(rcodeName(16)).toBe('ErrOutOfRange');
    expect(rcodeName(-1)).toBe('ErrOutOfRange');
    expect(rcodeName(2.5)).toBe('ErrOutOfRange');
  });

  it('has extended texts for the 12-bit codes', () => {
    expect(extendedRcodeName(3)).toBe('Non-Existent domain');
    expect(extendedRcodeName(16)).toBe('Bad OPT Version / TSIG Signature Failure');
    expect(extendedRcodeName(23)).toBe('Bad/missing Server Cookie');
    expect(extendedRcodeName(24)).toBe('Err#24');
  });
});

describe('parseRcode', () => {
  it('reads the short names in any case', () => {
    expect(parseRcode('nxdomain')).toBe(3);
    expect(parseRcode('NXDomain')).toBe(3);
    expect(parseRcode('SERVFAIL')).toBe(2);
    expect(parseRcode('Refused')).toBe(5);
    expect(parseRcode('noerror')).toBe(0);
    expect(parseRcode('formerr')).toBe(1);
    expect(parseRcode('notimp')).toBe(4);
    expect(parseRcode('notzone')).toBe(10);
    expect(parseRcode('rcode15')).toBe(15);
  });

  it('reads decimal codes 0-15 and rejects the rest', () => {
    expect(parseRcode('5')).toBe(5);
    expect(parseRcode('15')).toBe(15);
    expect(parseRcode('16')).toBeUndefined();
    expect(parseRcode('badcookie')).toBeUndefined();
    expect(parseRcode('nx domain')).toBeUndefined();
    expect(parseRcode('')).toBeUndefined();
  });

  it('round-trips every header code through its number', () => {
    for (let code = 0; code <= 15; code++) expect(parseRcode(String(code))).toBe(code);
  });
});

describe('header accessors', () => {
  it('reads and writes the id and flags big-endian', () => {
    const buf = new Uint8Array(DNS_HEADER_SIZE);
    writeId(buf, 0xbeef);
    writeFlags(buf, HeaderFlag.QR | HeaderFlag.RD | (Opcode.Notify << 11) | Rcode.Refused);
    expect([...buf.subarray(0, 4)]).toEqual([0xbe, 0xef, 0xa1, 0x05]);
    expect(readId(buf)).toBe(0xbeef);
    expect(readFlags(buf)).toBe(0xa105);
  });

  it('keeps only 16 bits', () => {
    const buf = new Uint8Array(DNS_HEADER_SIZE);
    writeId(buf, 0x1ffff);
    expect(readId(buf)).toBe(0xffff);
  });
});
