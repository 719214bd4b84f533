import http2 from 'node:http2';
import * as net from 'node:net';
import tls from 'node:tls';
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

/**
 * A DoH connection (HTTP/2 over TLS, the certificate not checked) that had
 * one GET for `name` answered with 200 (so the proxy accepted and counted
 * it), left open.
 */
export async function heldDohSession(port: number, name = 'www.example.test', path = '/dns-query'): Promise<http2.ClientHttp2Session> {
  const session = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false, servername: 'doh.test' });
  session.on('error', () => {});
  try {
    const status = await new Promise<number>((resolve, reject) => {
      session.once('close', () => reject(new Error('the proxy closed a DoH connection it should have accepted')));
      const req = session.request({ ':path': `${path}?dns=${encodeQuery(name).toString('base64url')}` });
      req.on('response', (headers) => resolve(Number(headers[':status'])));
      req.on('error', reject);
      req.resume();
      req.end();
    });
    if (status !== 200) throw new Error(`the DoH query on a connection to hold was answered with HTTP ${status}`);
  } catch (err) {
    session.destroy();
    throw err;
  }
  return session;
}

/**
 * What became of one new TLS connection to a DoH listener: 'refused' when
 * the proxy closed it before the handshake completed (a connection limit),
 * 'accepted' when the handshake completed (the connection is then closed).
 */
export function dohConnectionOutcome(port: number): Promise<'accepted' | 'refused'> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'doh.test', ALPNProtocols: ['h2'] });
    socket.on('error', () => {});
    socket.once('secureConnect', () => {
      resolve('accepted');
      socket.destroy();
    });
    socket.once('close', () => resolve('refused'));
  });
}
