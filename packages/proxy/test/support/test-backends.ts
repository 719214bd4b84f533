/**
 * Backends for tests: real sockets on 127.0.0.1 answering each query with a
 * function of its bytes, over UDP alone or over UDP and TCP on one port.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import * as dnsPacket from 'dns-packet';
import { freePort } from '../../../../test/support/free-port.js';
import { onFramedMessages, tcpFrame } from './tcp-framing.js';

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

/**
 * Bind a UDP socket and listen with a TCP server on one loopback port that
 * both can have. The port comes from freePort (below the ephemeral range):
 * a UDP port the kernel picks is often held on TCP by some outgoing
 * connection, and a failed listen is an 'error' event nobody waits for.
 * A port taken between the check and the bind is tried again with another.
 */
export async function listenUdpAndTcp(
  onMessage: (socket: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo) => void,
  onConnection: (socket: net.Socket) => void,
): Promise<{ port: number; udp: dgram.Socket; tcp: net.Server }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const udp = dgram.createSocket('udp4');
    udp.on('message', (msg, rinfo) => onMessage(udp, msg, rinfo));
    const tcp = net.createServer(onConnection);
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(port, '127.0.0.1', () => {
          udp.off('error', reject);
          resolve();
        });
      });
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(port, '127.0.0.1', () => {
          tcp.off('error', reject);
          resolve();
        });
      });
      return { port, udp, tcp };
    } catch (err) {
      udp.close();
      tcp.close();
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt === 10) throw err;
    }
  }
}

/** UDP and TCP (length-prefixed, pipelined queries answered in order) on one free loopback port. */
export async function startUdpTcpBackend(answer: AnswerQuery): Promise<TestBackend> {
  const { port, udp, tcp } = await listenUdpAndTcp(
    (socket, msg, rinfo) => {
      const a = answer(msg);
      if (a) socket.send(a, rinfo.port, rinfo.address);
    },
    (socket) => {
      socket.on('error', () => socket.destroy());
      onFramedMessages(socket, (msg) => {
        const a = answer(msg);
        if (a) socket.write(tcpFrame(a));
      });
    },
  );
  return {
    port,
    close: async () => {
      await new Promise<void>((r) => udp.close(() => r()));
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
