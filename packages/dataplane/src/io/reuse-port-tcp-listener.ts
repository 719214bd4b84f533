/**
 * A TCP listening socket with SO_REUSEPORT (or TCP_FASTOPEN), made by the
 * native addon and handed to Node by fd. Node 20's `net` can set neither
 * (`tcpFastOpenQueueSize` needs TCP_FASTOPEN before the first SYN), yet
 * dnsdist's `addLocal(addr, {reusePort=true})` repeated means one more
 * listener on the same address, and each data-plane worker owns its own
 * listener on every frontend address (the kernel spreads connections).
 */
import net from 'node:net';
import { parseAddress } from '@dnsdist-ts/dns';
import { listeningSocketHandover } from './listening-socket-handover.js';
import { loadNativeUdpAddon } from './native-udp-addon.js';

/** What the listener binds to. */
export interface ReusePortListenOptions {
  host: string;
  port: number;
  backlog: number;
  /** SO_REUSEPORT; true unless said otherwise. */
  reusePort?: boolean;
  /** addLocal's tcpFastOpenQueueSize: TCP_FASTOPEN on the listener when above 0. */
  fastOpenQueueSize?: number;
}

/**
 * Bind and listen natively (SO_REUSEADDR + SO_REUSEPORT), then hand the fd
 * to `server`, which owns and closes it from then on. Rejects with the
 * addon's errno error (`code`, `op`) or, without the addon, an error
 * saying how to build it.
 */
export function listenWithReusePort(server: net.Server, options: ReusePortListenOptions): Promise<void> {
  let fd: number;
  // A listener of a data-plane worker started again takes the socket its predecessor bound (listening-socket-handover.ts).
  const handover = options.reusePort !== false ? listeningSocketHandover() : undefined;
  try {
    const inherited = handover?.take('tcp', options.host, options.port);
    fd = inherited !== undefined ? loadNativeUdpAddon().dupFd(inherited) : openNatively(options);
  } catch (err) {
    // A rejection like Node's own listen errors, so callers wrap both the same way.
    return Promise.reject(err as Error);
  }
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      reject(err);
    };
    server.once('error', onError);
    server.listen({ fd, backlog: options.backlog }, () => {
      server.off('error', onError);
      handover?.bound('tcp', options.host, (server.address() as net.AddressInfo).port, fd);
      resolve();
    });
  });
}

function openNatively(options: ReusePortListenOptions): number {
  const binding = loadNativeUdpAddon();
  const parsed = parseAddress(options.host);
  const address = new Uint8Array(16);
  address.set(parsed.bytes);
  return binding.openTcpListener({
    family: parsed.bytes.length === 4 ? 4 : 6,
    address,
    port: options.port,
    reusePort: options.reusePort ?? true,
    backlog: options.backlog,
    fastOpenQueueSize: options.fastOpenQueueSize ?? 0,
  }).fd;
}
