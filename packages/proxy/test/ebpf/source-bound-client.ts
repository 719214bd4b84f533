/**
 * DNS queries from a chosen source address (127.0.0.2 is another client
 * on loopback): what the socket filter judges is the source.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import * as dnsPacket from 'dns-packet';
import { encodeQuery, type Answer, type QueryOptions } from '../support/dns-client.js';

/** A UDP query sent from `source`; undefined when nothing comes back within the timeout. */
export function udpQueryFrom(
  source: string,
  host: string,
  port: number,
  name: string,
  opts: QueryOptions = {},
): Promise<Answer | undefined> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const timer = setTimeout(() => {
      socket.close();
      resolve(undefined);
    }, opts.timeoutMs ?? 1000);
    socket.on('error', (err) => {
      clearTimeout(timer);
      socket.close();
      reject(err);
    });
    socket.on('message', (msg) => {
      clearTimeout(timer);
      socket.close();
      resolve(dnsPacket.decode(msg) as unknown as Answer);
    });
    socket.bind(0, source, () => socket.send(encodeQuery(name, opts), port, host));
  });
}

/** A TCP query from `source`: the answer, or 'no-connection' when the handshake does not complete in time. */
export function tcpQueryFrom(
  source: string,
  host: string,
  port: number,
  name: string,
  opts: QueryOptions = {},
): Promise<Answer | 'no-connection'> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, localAddress: source });
    let connected = false;
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      if (connected) reject(new Error(`TCP from ${source}: connected but no answer within the timeout`));
      else resolve('no-connection');
    }, opts.timeoutMs ?? 1000);
    socket.on('connect', () => {
      connected = true;
      const q = encodeQuery(name, opts);
      socket.write(Buffer.concat([Buffer.from([q.length >> 8, q.length & 0xff]), q]));
    });
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0))) as unknown as Answer);
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
