/**
 * DNS over TCP framing for test servers and clients: each message behind
 * its two-byte length (RFC 1035 4.2.2).
 */
import type net from 'node:net';

/** Call `onMessage` with each whole message `socket` receives, in order (pipelined ones too). */
export function onFramedMessages(socket: net.Socket, onMessage: (message: Buffer) => void): void {
  let buffer: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
    while (buffer.length >= 2 && buffer.length >= 2 + buffer.readUInt16BE(0)) {
      const message = buffer.subarray(2, 2 + buffer.readUInt16BE(0));
      buffer = buffer.subarray(2 + message.length);
      onMessage(message);
    }
  });
}

/** `message` behind its two-byte length. */
export function tcpFrame(message: Buffer): Buffer {
  const f = Buffer.alloc(2 + message.length);
  f.writeUInt16BE(message.length, 0);
  message.copy(f, 2);
  return f;
}
