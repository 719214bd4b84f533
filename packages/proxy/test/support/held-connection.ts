import * as net from 'node:net';
import { encodeQuery } from './dns-client.js';

/** A TCP connection that had one query for `name` answered (so the proxy accepted and counted it), left open. */
export async function heldConnection(port: number, name = 'www.example.test'): Promise<net.Socket> {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  await new Promise((r) => socket.once('connect', r));
  const q = encodeQuery(name);
  const frame = Buffer.alloc(q.length + 2);
  frame.writeUInt16BE(q.length, 0);
  q.copy(frame, 2);
  socket.write(frame);
  await new Promise<void>((resolve, reject) => {
    socket.once('data', () => resolve());
    socket.once('close', () => reject(new Error('the proxy closed a connection it should have accepted')));
  });
  return socket;
}
