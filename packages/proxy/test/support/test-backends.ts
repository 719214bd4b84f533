/**
 * Backends for tests: real sockets on 127.0.0.1 answering each query with a
 * function of its bytes, over UDP alone or over UDP and TCP on one port.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import * as dnsPacket from 'dns-packet';

/** A backend's answer to one query, raw bytes in and out; undefined sends nothing back. */
export type AnswerQuery = (query: Buffer) => Buffer | undefined;

export interface TestBackend {
  readonly port: number;
  close(): Promise<void>;
}

/** A UDP backend on a free loopback port (health-check queries are answered like any other). */
export async function startUdpBackend(answer: AnswerQuery): Promise<TestBackend> {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (msg, rinfo) => {
    const a = answer(msg);
    if (a) socket.send(a, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  return { port: socket.address().port, close: () => new Promise<void>((r) => socket.close(() => r())) };
}

/** UDP and TCP (length-prefixed, pipelined queries answered in order) on one free loopback port. */
export async function startUdpTcpBackend(answer: AnswerQuery): Promise<TestBackend> {
  const udp = await startUdpBackend(answer);
  const tcp = net.createServer((socket) => {
    socket.on('error', () => socket.destroy());
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        const a = answer(msg);
        if (!a) continue;
        const frame = Buffer.alloc(2 + a.length);
        frame.writeUInt16BE(a.length, 0);
        a.copy(frame, 2);
        socket.write(frame);
      }
    });
  });
  await new Promise<void>((r) => tcp.listen(udp.port, '127.0.0.1', () => r()));
  return {
    port: udp.port,
    close: async () => {
      await udp.close();
      await new Promise<void>((r) => tcp.close(() => r()));
    },
  };
}

/** The answer of a backend serving `address` for every name: the query's flags plus RA, one A record with TTL 60. */
export function answerWithA(query: dnsPacket.Packet, address: string): Buffer {
  return dnsPacket.encode({
    type: 'response',
    id: query.id,
    flags: (query.flags ?? 0) | dnsPacket.RECURSION_AVAILABLE,
    questions: query.questions,
    answers: [{ type: 'A', name: query.questions![0]!.name, ttl: 60, data: address }],
  } as dnsPacket.Packet);
}
