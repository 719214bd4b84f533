/**
 * When a zone transfer ends, message by message (dnsdist 1.7.3's rule):
 * pure logic on messages built with dns-packet, an independent encoder.
 */
import * as dnsPacket from 'dns-packet';
import { XfrProgress } from '@dnsdist-ts/dataplane/backend/xfr-progress.js';

const zone = 'zone.test';
const soa = (serial: number, cls: 'IN' | 'CH' = 'IN'): dnsPacket.Answer =>
  ({
    type: 'SOA',
    name: zone,
    class: cls,
    ttl: 60,
    data: { mname: `ns.${zone}`, rname: `hostmaster.${zone}`, serial, refresh: 1, retry: 1, expire: 1, minimum: 1 },
  }) as dnsPacket.Answer;
const a = (address: string): dnsPacket.Answer => ({ type: 'A', name: zone, ttl: 60, data: address });

function message(answers: dnsPacket.Answer[], rcode = 0): Buffer {
  return dnsPacket.encode({ type: 'response', id: 1, flags: rcode, questions: [{ type: 'AXFR', name: zone, class: 'IN' }], answers });
}

function ends(messages: Buffer[]): boolean[] {
  const x = new XfrProgress();
  return messages.map((m) => x.onMessage(m, m.length));
}

describe('XfrProgress', () => {
  it('ends an AXFR at the second SOA with the zone serial, in the same or a later message', () => {
    expect(ends([message([soa(5), a('192.0.2.1'), soa(5)])])).toEqual([true]);
    expect(ends([message([soa(5)]), message([a('192.0.2.1')]), message([soa(5)])])).toEqual([false, false, true]);
  });

  it('does not end an AXFR without a closing SOA', () => {
    expect(ends([message([soa(5)]), message([a('192.0.2.1')]), message([a('192.0.2.2')])])).toEqual([false, false, false]);
  });

  it('ends an IXFR when the new serial is seen a third time', () => {
    const x = [
      message([soa(3), soa(1), a('192.0.2.1'), soa(2)]),
      message([a('192.0.2.2'), soa(2)]),
      message([soa(3), a('192.0.2.4'), soa(3)]),
    ];
    expect(ends(x)).toEqual([false, false, true]);
  });

  it('ends at a message with an error RCODE', () => {
    expect(ends([message([soa(5)]), message([], 5)])).toEqual([false, true]);
  });

  it('counts only SOA records of class IN', () => {
    expect(ends([message([soa(5)]), message([soa(5, 'CH')]), message([soa(5)])])).toEqual([false, false, true]);
  });

  it('does not remember a serial of 0, as dnsdist (0 stands for "no SOA yet")', () => {
    expect(ends([message([soa(0)]), message([soa(0)]), message([soa(0)])])).toEqual([false, false, false]);
  });

  it('passes a malformed message without counting its records', () => {
    const whole = message([soa(5), soa(5)]);
    const cut = whole.subarray(0, whole.length - 3);
    expect(ends([cut, message([soa(5)])])).toEqual([false, false]);
  });
});
