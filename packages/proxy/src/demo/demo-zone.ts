import { parseAddress } from '@dnsdist-ts/dns';

/** A record set of the demo zone: addresses for A/AAAA, or a CNAME target. */
export interface DemoRecords {
  addresses?: Uint8Array[];
  cname?: string;
}

/** The zone `make run` serves, so `dig @127.0.0.1 -p 5300 www.example.test` answers offline. */
export const DEMO_ZONE_APEX = 'example.test.';

export const DEMO_ZONE = new Map<string, DemoRecords>([
  ['example.test.', { addresses: [parseAddress('192.0.2.1').bytes, parseAddress('2001:db8::1').bytes] }],
  ['www.example.test.', { addresses: [parseAddress('192.0.2.10').bytes, parseAddress('2001:db8::10').bytes] }],
  ['ns.example.test.', { addresses: [parseAddress('192.0.2.53').bytes] }],
  ['mail.example.test.', { addresses: [parseAddress('192.0.2.25').bytes] }],
  ['web.example.test.', { cname: 'www.example.test.' }],
]);
