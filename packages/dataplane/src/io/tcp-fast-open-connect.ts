/**
 * A TCP connection whose first write rides on the SYN (newServer{tcpFastOpen=true}).
 * Node 20's `net` cannot set TCP_FASTOPEN_CONNECT, so the native addon makes
 * the socket, sets it and hands the fd to a net.Socket, which connects it:
 * with the option, the kernel's connect() returns at once and sends the SYN
 * with the first data written (once it holds a cookie from the server; the
 * first connection fetches one and behaves as plain TCP).
 */
import net from 'node:net';
import { loadNativeUdpAddon } from './native-udp-addon.js';

export interface FastOpenConnectOptions {
  host: string;
  port: number;
  family: 4 | 6;
  /** As net.connect's onread: reads land in this buffer. */
  onread?: net.OnReadOpts;
}

/** Connect with TCP Fast Open; throws the addon's errno error (or says how to build it) when the socket cannot be made. */
export function connectWithFastOpen(options: FastOpenConnectOptions): net.Socket {
  const fd = loadNativeUdpAddon().openTcpFastOpenClient(options.family);
  // Node's types omit onread from the Socket constructor's options, which net.connect passes on to it.
  const socket = new net.Socket((options.onread ? { fd, onread: options.onread } : { fd }) as net.SocketConstructorOpts);
  socket.connect({ host: options.host, port: options.port });
  return socket;
}
