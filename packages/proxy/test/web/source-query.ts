import dgram from 'node:dgram';
import * as dnsPacket from 'dns-packet';
import { encodeQuery } from '../support/dns-client.js';

/** One UDP query from a chosen loopback source; the answer's RCODE, or undefined when none came within the timeout. */
export function queryFrom(source: string, port: number, name: string, timeoutMs = 700): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      resolve(undefined);
    }, timeoutMs);
    s.on('message', (msg) => {
      clearTimeout(timer);
      s.close();
      resolve((dnsPacket.decode(msg) as { rcode?: string }).rcode);
    });
    s.bind(0, source, () => s.send(encodeQuery(name), port, '127.0.0.1'));
  });
}
