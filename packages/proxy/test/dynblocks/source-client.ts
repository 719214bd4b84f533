/**
 * A DNS client with a chosen source address (any 127.0.0.0/8 address is
 * local), so end-to-end tests can play several clients against one proxy.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { Answer } from '../support/dns-client.js';
import { encodeQuery } from '../support/dns-client.js';

export class SourceClient {
  readonly address: string;
  readonly #socket: dgram.Socket;
  readonly #waiting = new Map<number, (a: Answer) => void>();
  #nextId = 1;

  private constructor(address: string, socket: dgram.Socket) {
    this.address = address;
    this.#socket = socket;
    socket.on('message', (msg) => {
      const a = dnsPacket.decode(msg) as unknown as Answer;
      const done = this.#waiting.get(a.id ?? -1);
      if (done) {
        this.#waiting.delete(a.id!);
        done(a);
      }
    });
  }

  static async bind(address: string): Promise<SourceClient> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, address, () => resolve());
    });
    return new SourceClient(address, socket);
  }

  #id(): number {
    this.#nextId = (this.#nextId % 65535) + 1;
    return this.#nextId;
  }

  /** One UDP query; undefined when nothing came back within `timeoutMs`. */
  query(port: number, name: string, type: dnsPacket.RecordType = 'A', timeoutMs = 1000): Promise<Answer | undefined> {
    const id = this.#id();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        resolve(undefined);
      }, timeoutMs);
      this.#waiting.set(id, (a) => {
        clearTimeout(timer);
        resolve(a);
      });
      this.#socket.send(encodeQuery(name, { id, type }), port, '127.0.0.1');
    });
  }

  /** Send `count` queries without waiting for answers; returns the send times (performance.now()). */
  send(port: number, count: number, name = 'www.example.test'): number[] {
    const times: number[] = [];
    for (let i = 0; i < count; i++) {
      times.push(performance.now());
      this.#socket.send(encodeQuery(name, { id: this.#id() }), port, '127.0.0.1');
    }
    return times;
  }

  /** One query over TCP from this address. */
  tcpQuery(port: number, name: string, timeoutMs = 2000): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port, localAddress: this.address });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`TCP query from ${this.address}: no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      let buf = Buffer.alloc(0);
      socket.on('connect', () => {
        const q = encodeQuery(name, { id: this.#id() });
        socket.write(Buffer.concat([Buffer.from([q.length >> 8, q.length & 0xff]), q]));
      });
      socket.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          clearTimeout(timer);
          socket.end();
          resolve(dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0))) as unknown as Answer);
        }
      });
      socket.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }
}
