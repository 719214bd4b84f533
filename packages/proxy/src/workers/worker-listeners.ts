/**
 * The control plane's view of listeners that data-plane workers own: one
 * RunningFrontend per configured listener, with the address the workers
 * bound and the workers' summed counters (CounterLayout), but no socket.
 * showBinds(), the API, /metrics and the XDP filter's port list read them
 * as they read the listeners of a single loop.
 */
import { parseAddress } from '@dnsdist-ts/dns';
import type { UdpDatagramHandler, UdpEndpoint } from '../io/udp-endpoint.js';
import { SocketAddress } from '../query/client-address.js';
import type { DnsdistProxy, RunningFrontend } from '../server/dnsdist-proxy.js';
import { TcpFrontend } from '../server/tcp-frontend.js';
import { UdpFrontend } from '../server/udp-frontend.js';

/** A UDP endpoint the workers hold: nothing is received or sent here. */
class WorkerOwnedUdpEndpoint implements UdpEndpoint {
  readonly localAddress: string;
  readonly localPort: number;
  readonly kind: 'dgram' | 'native';
  readonly sendErrors = 0;

  constructor(address: string, port: number, kind: 'dgram' | 'native') {
    this.localAddress = address;
    this.localPort = port;
    this.kind = kind;
  }

  onDatagram(_handler: UdpDatagramHandler): void {}

  send(): void {}

  flush(): void {}

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** What the first worker reports once its listeners are bound. */
export interface WorkerListenerInfo {
  /** Bound port per listener, in listenerConfigs() order. */
  ports: number[];
  /** UDP implementation per listener. */
  kinds: Array<'dgram' | 'native'>;
}

/** Add the workers' listeners to the control plane's proxy.frontends; returns their addresses. */
export function mirrorWorkerListeners(proxy: DnsdistProxy, info: WorkerListenerInfo): SocketAddress[] {
  const out: SocketAddress[] = [];
  proxy.listenerConfigs().forEach((config, i) => {
    const port = info.ports[i]!;
    const local = new SocketAddress(parseAddress(config.host).bytes, port);
    const udp = new UdpFrontend(new WorkerOwnedUdpEndpoint(config.host, port, info.kinds[i] ?? 'native'), local, proxy.processor);
    const tcp = TcpFrontend.detached(local, proxy.processor, {
      maxInFlight: config.maxInFlight,
      maxConcurrentConnections: config.maxConcurrentTCPConnections,
      idleTimeoutSeconds: proxy.settings.tcpRecvTimeoutSeconds,
      listenQueueSize: config.tcpListenQueueSize,
    });
    const fe: RunningFrontend = { config, udp, tcp };
    proxy.frontends.push(fe);
    out.push(local);
  });
  return out;
}
