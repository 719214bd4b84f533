import dgram from 'node:dgram';
import net from 'node:net';
import { DNSName, DnsQueryView, buildSpoofedAnswer, makeRcodeResponse, Rcode } from '@dnsdist-ts/dns';
import { DEMO_ZONE, DEMO_ZONE_APEX, type DemoRecords } from './demo-zone.js';

/**
 * A tiny authoritative server for the demo zone: the backend `make run`
 * starts next to the proxy, so a fresh machine answers with no network.
 * Names in the zone get their records (AA set), other names under the apex
 * NXDOMAIN, names outside REFUSED. UDP and TCP on the same port.
 */
export function answerDemoQuery(query: Buffer, zone: Map<string, DemoRecords> = DEMO_ZONE): Buffer | undefined {
  const view = new DnsQueryView();
  if (!view.parse(query) || view.qr) return undefined;
  const packet = Buffer.from(query);
  const records = zone.get(view.qname);
  const apex = DNSName.fromString(DEMO_ZONE_APEX);
  if (!records) {
    const inZone = view.qnameAsDNSName().isPartOf(apex);
    makeRcodeResponse(packet, packet.length, inZone ? Rcode.NXDomain : Rcode.Refused, { aa: inZone, ra: false });
    return packet;
  }
  return buildSpoofedAnswer(view, records.cname ? { cname: DNSName.fromString(records.cname) } : { addresses: records.addresses ?? [] }, {
    ttl: 300,
    aa: true,
    ra: false,
  });
}

export interface DemoServer {
  port: number;
  close(): Promise<void>;
}

/** Serve the demo zone on host:port (UDP and TCP). */
export async function startDemoServer(host: string, port: number): Promise<DemoServer> {
  // With port 0 the UDP socket picks the number and TCP must get the same one, which a TCP
  // socket elsewhere may already hold: pick again rather than fail.
  for (let attempt = 1; ; attempt++) {
    try {
      return await listenOn(host, port);
    } catch (err) {
      if (port !== 0 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt === 20) throw err;
    }
  }
}

async function listenOn(host: string, port: number): Promise<DemoServer> {
  const udp = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  udp.on('message', (msg, rinfo) => {
    const answer = answerDemoQuery(msg);
    if (answer) udp.send(answer, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(port, host, () => resolve());
  });
  const boundPort = udp.address().port;
  const tcp = net.createServer((socket) => {
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const len = buf.readUInt16BE(0);
        const answer = answerDemoQuery(buf.subarray(2, 2 + len));
        buf = buf.subarray(2 + len);
        if (answer) {
          const frame = Buffer.alloc(answer.length + 2);
          frame.writeUInt16BE(answer.length, 0);
          answer.copy(frame, 2);
          socket.write(frame);
        }
      }
    });
    socket.on('error', () => socket.destroy());
  });
  try {
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(boundPort, host, () => resolve());
    });
  } catch (err) {
    udp.close();
    throw err;
  }
  return {
    port: boundPort,
    close: () =>
      new Promise<void>((resolve) => {
        udp.close();
        tcp.close(() => resolve());
      }),
  };
}
