import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DNSName } from '@dnsdist-ts/dns';
import { DNSAction } from '@dnsdist-ts/dataplane/query/dns-action.js';
import {
  AllowAction,
  DelayAction,
  DisableValidationAction,
  DropAction,
  LogAction,
  LogFileOpenError,
  NoneAction,
  NoRecurseAction,
  PoolAction,
  RCodeAction,
  RuleArgumentError,
  SetTagAction,
  SpoofAction,
  SpoofCNAMEAction,
  TCAction,
} from '@dnsdist-ts/dataplane/rules/index.js';
import { decode, FLAG_AA, FLAG_AD, FLAG_CD, FLAG_QR, FLAG_RA, FLAG_RD, flagsOf, makeQuery } from './query-fixture.js';

describe('simple query actions', () => {
  it('return the dnsdist codes and descriptions', () => {
    const dq = makeQuery();
    expect(new DropAction().apply(dq)).toBe(DNSAction.Drop);
    expect(new DropAction().toString()).toBe('drop');
    expect(new AllowAction().apply(dq)).toBe(DNSAction.Allow);
    expect(new AllowAction().toString()).toBe('allow');
    expect(new NoneAction().apply(dq)).toBe(DNSAction.None);
    expect(new NoneAction().toString()).toBe('no op');
    expect(new TCAction().apply(dq)).toBe(DNSAction.Truncate);
    expect(new TCAction().toString()).toBe('tc=1 answer');
    // None of them touched the packet.
    expect(dq.bytes()).toEqual(makeQuery().bytes());
  });

  it('PoolAction sets the pool', () => {
    const dq = makeQuery();
    expect(new PoolAction('abuse').apply(dq)).toBe(DNSAction.Pool);
    expect(dq.pool).toBe('abuse');
    expect(new PoolAction('abuse').toString()).toBe('to pool abuse');
  });

  it('SetTagAction sets and overwrites a tag', () => {
    const dq = makeQuery();
    expect(new SetTagAction('k', 'v1').apply(dq)).toBe(DNSAction.None);
    new SetTagAction('k', 'v2').apply(dq);
    expect(dq.getTag('k')).toBe('v2');
    expect(new SetTagAction('k', 'v').toString()).toBe("set tag 'k' to value 'v'");
  });

  it('DelayAction delays UDP answers only', () => {
    const udp = makeQuery({ transport: 'udp' });
    const tcp = makeQuery({ transport: 'tcp' });
    const action = new DelayAction(250);
    expect(action.apply(udp)).toBe(DNSAction.Delay);
    expect(action.apply(tcp)).toBe(DNSAction.Delay);
    expect(udp.delayMs).toBe(250);
    expect(tcp.delayMs).toBe(0);
    expect(action.toString()).toBe('delay by 250 msec');
    expect(() => new DelayAction(-1)).toThrow(RuleArgumentError);
  });

  it('NoRecurseAction clears RD and DisableValidationAction sets CD, in the packet', () => {
    const dq = makeQuery({ flags: FLAG_RD });
    expect(new NoRecurseAction().apply(dq)).toBe(DNSAction.None);
    expect(flagsOf(dq.packet) & FLAG_RD).toBe(0);
    expect(new DisableValidationAction().apply(dq)).toBe(DNSAction.None);
    expect(flagsOf(dq.packet) & FLAG_CD).toBe(FLAG_CD);
    expect(decode(dq.bytes()).questions![0]!.name).toBe('www.example.com');
    expect(new NoRecurseAction().toString()).toBe('set rd=0');
    expect(new DisableValidationAction().toString()).toBe('set cd=1');
  });
});

describe('RCodeAction', () => {
  it('turns the query into a response in place, RA copied from RD, AD cleared', () => {
    const dq = makeQuery({ flags: FLAG_RD | FLAG_AD, id: 0xbeef });
    expect(new RCodeAction(3).apply(dq)).toBe(DNSAction.HeaderModify);
    const answer = decode(dq.bytes());
    expect(answer.id).toBe(0xbeef);
    expect(answer.type).toBe('response');
    expect(answer.rcode).toBe('NXDOMAIN');
    expect(answer.flag_ra).toBe(true);
    expect(answer.flag_ad).toBe(false);
    expect(answer.flag_aa).toBe(false);
    expect(answer.questions).toEqual([{ name: 'www.example.com', type: 'A', class: 'IN' }]);
    expect(new RCodeAction(5).toString()).toBe('set rcode 5');
  });

  it('applies the aa/ad/ra options', () => {
    const dq = makeQuery({ flags: FLAG_RD });
    new RCodeAction(5, { aa: true, ad: true, ra: false }).apply(dq);
    const flags = flagsOf(dq.packet);
    expect(flags & 0x0f).toBe(5);
    expect(flags & (FLAG_QR | FLAG_AA | FLAG_AD | FLAG_RA)).toBe(FLAG_QR | FLAG_AA | FLAG_AD);
  });

  it('rejects codes that do not fit the header', () => {
    expect(() => new RCodeAction(16)).toThrow(RuleArgumentError);
  });
});

describe('SpoofAction', () => {
  it('answers A queries with the IPv4 addresses only', () => {
    const dq = makeQuery({ type: 'A', id: 7 });
    const action = new SpoofAction(['192.0.2.1', '2001:db8::1', '192.0.2.2']);
    expect(action.apply(dq)).toBe(DNSAction.HeaderModify);
    const answer = decode(dq.bytes());
    expect(answer.id).toBe(7);
    expect(answer.type).toBe('response');
    expect(answer.rcode).toBe('NOERROR');
    expect(answer.answers!.map((a) => [a.type, a.ttl, a.data]).sort()).toEqual([
      ['A', 60, '192.0.2.1'],
      ['A', 60, '192.0.2.2'],
    ]);
    expect(dq.view.qr).toBe(true);
    expect(action.toString()).toBe('spoof in 192.0.2.1 2001:db8::1 192.0.2.2 ');
  });

  it('answers AAAA with IPv6 and ANY with everything, with the ttl and header options', () => {
    const action = new SpoofAction(['192.0.2.1', '2001:db8::1'], { ttl: 3600, aa: true, ra: false });
    const aaaa = makeQuery({ type: 'AAAA' });
    action.apply(aaaa);
    const answer = decode(aaaa.bytes());
    expect(answer.answers!.map((a) => [a.type, a.ttl, a.data])).toEqual([['AAAA', 3600, '2001:db8::1']]);
    expect(answer.flag_aa).toBe(true);
    expect(answer.flag_ra).toBe(false);
    const any = makeQuery({ type: 'ANY' });
    action.apply(any);
    expect(decode(any.bytes()).answers.map((a) => a.type)).toEqual(expect.arrayContaining(['A', 'AAAA']));
    expect(decode(any.bytes()).answers).toHaveLength(2);
  });

  it('leaves other query types, and types no address suits, to the next rule', () => {
    const mx = makeQuery({ type: 'MX' });
    const before = Buffer.from(mx.bytes());
    expect(new SpoofAction('192.0.2.1').apply(mx)).toBe(DNSAction.None);
    expect(mx.bytes()).toEqual(before);
    expect(new SpoofAction('192.0.2.1').apply(makeQuery({ type: 'AAAA' }))).toBe(DNSAction.None);
  });

  it('builds the header from the packet as earlier actions left it (RA copied from the current RD)', () => {
    const dq = makeQuery({ flags: FLAG_RD });
    new NoRecurseAction().apply(dq);
    new SpoofAction('192.0.2.1').apply(dq);
    const answer = decode(dq.bytes());
    // The rule walk puts the client's RD back afterwards (see the evaluator tests).
    expect(answer.flag_rd).toBe(false);
    expect(answer.flag_ra).toBe(false);
  });

  it('rejects text that is not an address', () => {
    expect(() => new SpoofAction('not-an-ip')).toThrow(/not-an-ip/);
    expect(() => new SpoofAction('192.0.2.1', { ttl: -5 })).toThrow(RuleArgumentError);
  });
});

describe('SpoofCNAMEAction', () => {
  it('answers any query type with one CNAME', () => {
    const dq = makeQuery({ type: 'MX', name: 'mail.example.com' });
    const action = new SpoofCNAMEAction('sinkhole.example.net', { ttl: 30 });
    expect(action.apply(dq)).toBe(DNSAction.HeaderModify);
    const answer = decode(dq.bytes());
    expect(answer.answers).toEqual([
      expect.objectContaining({ name: 'mail.example.com', type: 'CNAME', ttl: 30, data: 'sinkhole.example.net' }),
    ]);
    expect(action.toString()).toBe('spoof in sinkhole.example.net. ');
    expect(new SpoofCNAMEAction(DNSName.fromString('x.')).toString()).toBe('spoof in x. ');
  });
});

describe('LogAction', () => {
  let dir: string;
  const opened: { close(): void }[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'dnsdist-ts-logaction-'));
  });

  afterEach(() => {
    for (const a of opened.splice(0)) a.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function track<T extends { close(): void }>(action: T): T {
    opened.push(action);
    return action;
  }

  it('writes dnsdist text lines to a file and continues', () => {
    const path = join(dir, 'queries.log');
    const action = track(new LogAction(path, { binary: false }));
    const dq = makeQuery({ name: 'WWW.Example.com', type: 'AAAA', id: 0x1234, remote: '192.0.2.1', remotePort: 5353 });
    expect(action.apply(dq)).toBe(DNSAction.None);
    action.apply(makeQuery({ name: 'x.example', remote: '2001:db8::5', remotePort: 53, id: 1 }));
    action.close();
    expect(readFileSync(path, 'utf8')).toBe(
      'Packet from 192.0.2.1:5353 for WWW.Example.com. AAAA with id 4660\nPacket from [2001:db8::5]:53 for x.example. A with id 1\n',
    );
    expect(action.toString()).toBe(`log to ${path}`);
  });

  it('flushes buffered lines on the next event-loop turn', async () => {
    const path = join(dir, 'buffered.log');
    const action = track(new LogAction(path, { binary: false }));
    action.apply(makeQuery());
    expect(readFileSync(path, 'utf8')).toBe('');
    await new Promise((resolve) => setImmediate(resolve));
    expect(readFileSync(path, 'utf8')).toMatch(/^Packet from /);
  });

  it('writes each line at once when unbuffered, with timestamps when asked', () => {
    const path = join(dir, 'unbuffered.log');
    const action = track(new LogAction(path, { binary: false, buffered: false, includeTimestamp: true }));
    const receivedAt = performance.now();
    action.apply(makeQuery({ receivedAt }));
    const line = readFileSync(path, 'utf8');
    const m = /^\[(\d+)\.(\d+)\] Packet from 192\.0\.2\.1:5353 for www\.example\.com\. A with id 4660\n$/.exec(line);
    expect(m).not.toBeNull();
    const loggedMs = Number(m![1]) * 1000 + Number(m![2]) / 1e6;
    expect(Math.abs(loggedMs - (performance.timeOrigin + receivedAt))).toBeLessThan(1);
  });

  it('truncates the file unless appending', () => {
    const path = join(dir, 'existing.log');
    writeFileSync(path, 'old line\n');
    track(new LogAction(path, { binary: false, append: true })).close();
    expect(readFileSync(path, 'utf8')).toBe('old line\n');
    track(new LogAction(path, { binary: false })).close();
    expect(readFileSync(path, 'utf8')).toBe('');
  });

  it('writes dnsdist binary records by default', () => {
    const path = join(dir, 'binary.log');
    const action = track(new LogAction(path, { buffered: false }));
    action.apply(makeQuery({ name: 'Ab.cd', type: 'TXT', id: 0x0102, remote: '192.0.2.9', remotePort: 0x1f90 }));
    action.apply(makeQuery({ name: 'x', type: 'A', id: 3, remote: '2001:db8::1', remotePort: 53 }));
    const data = readFileSync(path);
    const first = Buffer.from([0x01, 0x02, 2, 0x41, 0x62, 2, 0x63, 0x64, 0, 16, 0, 2, 0, 192, 0, 2, 9, 0x1f, 0x90]);
    const v6 = Buffer.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    const second = Buffer.concat([Buffer.from([0, 3, 1, 0x78, 0, 1, 0, 10, 0]), v6, Buffer.from([0, 53])]);
    expect(data).toEqual(Buffer.concat([first, second]));
  });

  it('prefixes binary records with seconds and nanoseconds when asked', () => {
    const path = join(dir, 'binary-ts.log');
    const action = track(new LogAction(path, { buffered: false, includeTimestamp: true }));
    const receivedAt = performance.now();
    action.apply(makeQuery({ name: 'x', receivedAt }));
    const data = readFileSync(path);
    const ms = Number(data.readBigUInt64LE(0)) * 1000 + data.readUInt32LE(8) / 1e6;
    expect(Math.abs(ms - (performance.timeOrigin + receivedAt))).toBeLessThan(1);
    expect(data.subarray(12, 14)).toEqual(Buffer.from([0x12, 0x34]));
  });

  it('reopens the file on reload, for rotation', () => {
    const path = join(dir, 'rotate.log');
    const rotated = join(dir, 'rotate.log.1');
    const action = track(new LogAction(path, { binary: false, buffered: false, append: true }));
    action.apply(makeQuery({ id: 1 }));
    rmSync(rotated, { force: true });
    writeFileSync(rotated, readFileSync(path));
    rmSync(path);
    action.reload();
    action.apply(makeQuery({ id: 2 }));
    expect(readFileSync(path, 'utf8')).toMatch(/with id 2\n$/);
    expect(readFileSync(rotated, 'utf8')).toMatch(/with id 1\n$/);
  });

  it('logs to the info log without a file, only in verbose mode unless verboseOnly is false', () => {
    const lines: string[] = [];
    let verbose = false;
    const quiet = new LogAction('', { infoLog: (l) => lines.push(l), isVerbose: () => verbose });
    quiet.apply(makeQuery());
    expect(lines).toEqual([]);
    verbose = true;
    quiet.apply(makeQuery());
    expect(lines).toEqual(['Packet from 192.0.2.1:5353 for www.example.com. A with id 4660']);
    new LogAction('', { infoLog: (l) => lines.push(l), verboseOnly: false }).apply(makeQuery({ id: 9 }));
    expect(lines[1]).toMatch(/with id 9$/);
    expect(quiet.toString()).toBe('log');
  });

  it('fails with a typed error when the file cannot be opened', () => {
    expect(() => new LogAction(join(dir, 'missing', 'dir', 'x.log'))).toThrow(LogFileOpenError);
  });
});
