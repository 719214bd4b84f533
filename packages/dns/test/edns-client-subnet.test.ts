import dnsPacket from 'dns-packet';
import {
  CLIENT_SUBNET_QUERY_GROWTH,
  ClientSubnetEdit,
  removeClientSubnetFromAnswer,
  setClientSubnetInQuery,
  writeClientSubnetOption,
} from '../src/index.js';

type Option = { code: number; data: Buffer };
const opt = (options: Option[] = [], udpPayloadSize = 4096): dnsPacket.Answer =>
  ({ type: 'OPT', name: '.', udpPayloadSize, flags: 0, options }) as unknown as dnsPacket.Answer;
const cookie: Option = { code: 10, data: Buffer.from('deadbeefdeadbeef') };
/** An ECS option's data: family, source, scope, address bytes. */
const ecsData = (family: number, source: number, scope: number, address: number[]): Buffer =>
  Buffer.from([0, family, source, scope, ...address]);
const ecs = (source: number, address: number[], scope = 0): Option => ({ code: 8, data: ecsData(1, source, scope, address) });

function query(additionals: dnsPacket.Answer[] = [], extra: Partial<dnsPacket.Packet> = {}): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: 7,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'A', name: 'www.example', class: 'IN' }],
    additionals,
    ...extra,
  });
}

/** A copy with room to grow, as the query path's buffers have. */
function roomy(packet: Buffer): Buffer {
  const b = Buffer.alloc(packet.length + CLIENT_SUBNET_QUERY_GROWTH);
  packet.copy(b);
  return b;
}

/** The ECS option for 127.0.0.1/24 (dnsdist's default for that client). */
function loopbackOption(prefix = 24): { option: Buffer; size: number } {
  const option = Buffer.alloc(24);
  const size = writeClientSubnetOption(option, 0, Uint8Array.from([127, 0, 0, 1]), prefix);
  return { option, size };
}

function optionsOf(packet: Buffer): Option[] {
  const decoded = dnsPacket.decode(packet);
  const o = decoded.additionals!.find((a) => a.type === 'OPT') as unknown as { options: Option[] } | undefined;
  return (o?.options ?? []).map((x) => ({ code: x.code, data: Buffer.from(x.data) }));
}

describe('writeClientSubnetOption', () => {
  it('writes family, prefix, scope 0 and only the covered address bytes, masked', () => {
    const out = Buffer.alloc(24);
    expect(writeClientSubnetOption(out, 0, Uint8Array.from([192, 0, 2, 255]), 23)).toBe(11);
    expect(out.subarray(0, 11)).toEqual(Buffer.from([0, 8, 0, 7, 0, 1, 23, 0, 192, 0, 2 & 0xfe]));
    const v6 = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(writeClientSubnetOption(out, 0, v6, 56)).toBe(15);
    expect(out.subarray(0, 15)).toEqual(Buffer.from([0, 8, 0, 11, 0, 2, 56, 0, 0x20, 0x01, 0x0d, 0xb8, 1, 2, 3]));
  });

  it('writes no address byte for /0 and caps the prefix at the family width', () => {
    const out = Buffer.alloc(24);
    expect(writeClientSubnetOption(out, 0, Uint8Array.from([10, 1, 2, 3]), 0)).toBe(8);
    expect(out.subarray(0, 8)).toEqual(Buffer.from([0, 8, 0, 4, 0, 1, 0, 0]));
    expect(writeClientSubnetOption(out, 0, Uint8Array.from([10, 1, 2, 3]), 40)).toBe(12);
    expect(out[6]).toBe(32);
  });
});

describe('setClientSubnetInQuery', () => {
  const edit = new ClientSubnetEdit();

  it('gives a query without EDNS an OPT record (payload 512) holding only the option', () => {
    const q = query();
    const buf = roomy(q);
    const { option, size } = loopbackOption();
    expect(setClientSubnetInQuery(buf, q.length, option, size, false, 512, edit)).toBe(true);
    expect(edit).toMatchObject({ length: q.length + 11 + 11, ednsAdded: true, ecsAdded: true });
    // The bytes dnsdist sends: the query, then root, OPT, 512, TTL 0, RDLENGTH 11, the option.
    expect(buf.subarray(q.length, edit.length)).toEqual(
      Buffer.from([0, 0, 41, 2, 0, 0, 0, 0, 0, 0, 11, 0, 8, 0, 7, 0, 1, 24, 0, 127, 0, 0]),
    );
    expect(buf.readUInt16BE(10)).toBe(1);
    expect(optionsOf(buf.subarray(0, edit.length))).toEqual([ecs(24, [127, 0, 0])]);
  });

  it('adds the option after the options of an existing OPT record', () => {
    const q = query([opt([cookie])]);
    const buf = roomy(q);
    const { option, size } = loopbackOption();
    expect(setClientSubnetInQuery(buf, q.length, option, size, false, 512, edit)).toBe(true);
    expect(edit).toMatchObject({ length: q.length + 11, ednsAdded: false, ecsAdded: true });
    expect(optionsOf(buf.subarray(0, edit.length))).toEqual([cookie, ecs(24, [127, 0, 0])]);
  });

  it("keeps the client's own option unless told to override it", () => {
    const q = query([opt([ecs(24, [1, 2, 3])])]);
    const buf = roomy(q);
    const { option, size } = loopbackOption();
    expect(setClientSubnetInQuery(buf, q.length, option, size, false, 512, edit)).toBe(true);
    expect(edit).toMatchObject({ length: q.length, ednsAdded: false, ecsAdded: false });
    expect(buf.subarray(0, q.length)).toEqual(q);
  });

  it('overrides an option of the same size where it stands in a lone OPT record, and it is not "added"', () => {
    const q = query([opt([cookie, ecs(24, [192, 0, 2]), cookie])]);
    const buf = roomy(q);
    const { option, size } = loopbackOption();
    expect(setClientSubnetInQuery(buf, q.length, option, size, true, 512, edit)).toBe(true);
    expect(edit).toMatchObject({ length: q.length, ednsAdded: false, ecsAdded: false });
    expect(optionsOf(buf.subarray(0, edit.length))).toEqual([cookie, ecs(24, [127, 0, 0]), cookie]);
  });

  it.each([
    ['shorter', ecs(8, [192])],
    ['longer', ecs(32, [192, 0, 2, 1])],
  ])('overrides a %s option by removing it and putting ours last, as dnsdist 1.7.3 does', (_what, theirs) => {
    const q = query([opt([cookie, theirs, cookie])]);
    const buf = roomy(q);
    const { option, size } = loopbackOption();
    expect(setClientSubnetInQuery(buf, q.length, option, size, true, 512, edit)).toBe(true);
    expect(edit).toMatchObject({ ednsAdded: false, ecsAdded: false });
    expect(optionsOf(buf.subarray(0, edit.length))).toEqual([cookie, cookie, ecs(24, [127, 0, 0])]);
  });

  it('with other records, removes every ECS option and puts the new one last (dnsdist slow path)', () => {
    const glue: dnsPacket.Answer = { type: 'A', name: 'www.example', ttl: 5, data: '192.0.2.1' };
    const q = query([opt([cookie, ecs(24, [192, 0, 2]), cookie, ecs(16, [10, 0])]), glue]);
    const buf = roomy(q);
    const { option, size } = loopbackOption();
    expect(setClientSubnetInQuery(buf, q.length, option, size, true, 512, edit)).toBe(true);
    const out = dnsPacket.decode(buf.subarray(0, edit.length));
    expect(optionsOf(buf.subarray(0, edit.length))).toEqual([cookie, cookie, ecs(24, [127, 0, 0])]);
    expect(out.additionals!.map((a) => a.type)).toEqual(['OPT', 'A']);
    expect(out.additionals![1]).toMatchObject({ name: 'www.example', data: '192.0.2.1' });
  });

  it('moves compression pointers that point past the OPT record along with what they point to', () => {
    // Additional section: OPT (no options), A ns.example, A with its owner a pointer to that ns.example.
    const q = query([opt(), { type: 'A', name: 'ns.example', ttl: 5, data: '192.0.2.53' }]);
    const nsOwner = q.length - (12 + 10 + 4); // "ns.example" is 12 bytes on the wire, then 10 fixed bytes and 4 of RDATA
    const withPointer = Buffer.concat([
      q,
      Buffer.from([0xc0 | (nsOwner >> 8), nsOwner & 0xff, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 192, 0, 2, 54]),
    ]);
    withPointer.writeUInt16BE(3, 10);
    const buf = roomy(withPointer);
    const { option, size } = loopbackOption();
    expect(setClientSubnetInQuery(buf, withPointer.length, option, size, false, 512, edit)).toBe(true);
    const out = dnsPacket.decode(buf.subarray(0, edit.length));
    expect(out.additionals!.map((a) => [a.name, (a as { data?: unknown }).data])).toEqual([
      ['.', undefined],
      ['ns.example', '192.0.2.53'],
      ['ns.example', '192.0.2.54'],
    ]);
  });

  it('drops trailing data once it changes the query, and refuses what it cannot walk or fit', () => {
    const q = query();
    const trailing = roomy(Buffer.concat([q, Buffer.from('junk')]));
    const { option, size } = loopbackOption();
    expect(setClientSubnetInQuery(trailing, q.length + 4, option, size, false, 512, edit)).toBe(true);
    expect(edit.length).toBe(q.length + 22);
    expect(dnsPacket.decode(trailing.subarray(0, edit.length)).additionals).toHaveLength(1);

    expect(setClientSubnetInQuery(roomy(q), q.length - 3, option, size, false, 512, edit)).toBe(false);
    expect(setClientSubnetInQuery(Buffer.from(q), q.length, option, size, false, 512, edit)).toBe(false);
  });
});

describe('removeClientSubnetFromAnswer', () => {
  const edit = new ClientSubnetEdit();
  const answer = (additionals: dnsPacket.Answer[]): Buffer =>
    dnsPacket.encode({
      type: 'response',
      id: 7,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type: 'A', name: 'www.example', class: 'IN' }],
      answers: [{ type: 'A', name: 'www.example', ttl: 60, data: '192.0.2.1' }],
      additionals,
    });

  it('removes the whole OPT record when the query had none', () => {
    const a = answer([opt([ecs(24, [127, 0, 0], 24)])]);
    const length = removeClientSubnetFromAnswer(a, a.length, true, true, edit);
    expect(a.subarray(0, length)).toEqual(answer([]));
    expect(edit.zeroScope).toBe(false);
  });

  it('removes only the ECS options when the OPT record was the client’s, keeping the others in order', () => {
    const a = answer([opt([cookie, ecs(24, [127, 0, 0], 0), cookie])]);
    const length = removeClientSubnetFromAnswer(a, a.length, false, true, edit);
    expect(a.subarray(0, length)).toEqual(answer([opt([cookie, cookie])]));
    expect(edit.zeroScope).toBe(true);
  });

  it('leaves the answer alone when nothing was added (an overridden option is the backend’s to echo)', () => {
    const a = answer([opt([ecs(24, [127, 0, 0], 24)])]);
    const copy = Buffer.from(a);
    expect(removeClientSubnetFromAnswer(a, a.length, false, false, edit)).toBe(a.length);
    expect(a).toEqual(copy);
  });

  it('refuses (-1) an answer whose names do not walk to its OPT record: a forward compression pointer', () => {
    const a = answer([opt([ecs(24, [127, 0, 0], 24)])]);
    const answerOwner = 12 + 13 + 4; // header, "www.example" (13 bytes), qtype and qclass
    a[answerOwner] = 0xff;
    expect(removeClientSubnetFromAnswer(a, a.length, true, true, edit)).toBe(-1);
    // Without an additional record there is nothing to look for, as in dnsdist.
    const b = answer([]);
    b[answerOwner] = 0xff;
    expect(removeClientSubnetFromAnswer(b, b.length, true, true, edit)).toBe(b.length);
  });

  it('keeps records after the OPT record readable, their pointers moved', () => {
    const a = answer([opt([ecs(24, [127, 0, 0], 24)]), { type: 'A', name: 'ns.example', ttl: 5, data: '192.0.2.53' }]);
    const nsOwner = a.length - (12 + 10 + 4);
    const withPointer = Buffer.concat([
      a,
      Buffer.from([0xc0 | (nsOwner >> 8), nsOwner & 0xff, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 192, 0, 2, 54]),
    ]);
    withPointer.writeUInt16BE(3, 10);
    const length = removeClientSubnetFromAnswer(withPointer, withPointer.length, true, true, edit);
    const out = dnsPacket.decode(withPointer.subarray(0, length));
    expect(out.additionals!.map((r) => [r.type, r.name, (r as { data?: unknown }).data])).toEqual([
      ['A', 'ns.example', '192.0.2.53'],
      ['A', 'ns.example', '192.0.2.54'],
    ]);
  });
});
