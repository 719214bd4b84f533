import dnsPacket from 'dns-packet';
import { dnsMessageEnd, findOptRecord, removeOptRecord, resetQueryTurnedResponseOpt, withEdnsOption } from '../src/index.js';

const opt = (options: { code: number; data: Buffer }[] = [], flags = 0): dnsPacket.Answer =>
  ({ type: 'OPT', name: '.', udpPayloadSize: 4096, flags, options }) as unknown as dnsPacket.Answer;

function message(additionals: dnsPacket.Answer[]): Buffer {
  return dnsPacket.encode({
    type: 'response',
    id: 1,
    flags: 0,
    questions: [{ type: 'A', name: 'a.example', class: 'IN' }],
    answers: [{ type: 'A', name: 'a.example', ttl: 5, data: '192.0.2.1' }],
    additionals,
  });
}

describe('record walks', () => {
  it('removeOptRecord takes the OPT record out from between other records', () => {
    const glue: dnsPacket.Answer = { type: 'A', name: 'ns.example', ttl: 5, data: '192.0.2.53' };
    const packet = message([opt([{ code: 10, data: Buffer.alloc(8) }]), glue]);
    const length = removeOptRecord(packet, packet.length);
    const decoded = dnsPacket.decode(packet.subarray(0, length));
    expect(decoded.additionals!.map((a) => a.type)).toEqual(['A']);
    expect(dnsMessageEnd(packet, length)).toBe(length);
    expect(removeOptRecord(packet, length)).toBe(length);
  });

  it('withEdnsOption refuses a message that does not walk cleanly', () => {
    const packet = message([opt()]);
    expect(withEdnsOption(packet, packet.length - 2, 10, Buffer.alloc(1), 512)).toBeUndefined();
    expect(findOptRecord(packet, packet.length)).toBeGreaterThan(0);
  });

  it('resetQueryTurnedResponseOpt only rewrites a lone OPT record right after the question', () => {
    const query = dnsPacket.encode({
      type: 'query',
      id: 1,
      questions: [{ type: 'A', name: 'a.example', class: 'IN' }],
      additionals: [opt([{ code: 10, data: Buffer.alloc(8) }], dnsPacket.DNSSEC_OK)],
    });
    const questionEnd = 12 + 11 + 4;
    const length = resetQueryTurnedResponseOpt(query, query.length, questionEnd, 1);
    expect(length).toBe(questionEnd + 11);
    const o = dnsPacket.decode(query.subarray(0, length)).additionals![0] as unknown as Record<string, unknown>;
    expect(o).toMatchObject({ udpPayloadSize: 1232, extendedRcode: 1, ednsVersion: 0, flags: dnsPacket.DNSSEC_OK, options: [] });
    const withAnswer = message([opt()]);
    expect(resetQueryTurnedResponseOpt(withAnswer, withAnswer.length, questionEnd, 1)).toBe(withAnswer.length);
  });
});
