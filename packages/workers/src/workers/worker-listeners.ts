/**
 * The control plane's view of listeners that data-plane workers own: one
 * RunningFrontend per configured listener, with the address the workers
 * bound and the workers' counters read live (live-counters.ts), but no socket.
 * showBinds(), the API, /metrics and the XDP filter's port list read them
 * as they read the listeners of a single loop.
 */
import { parseAddress } from '@dnsdist-ts/dns';
import type { UdpDatagramHandler, UdpEndpoint } from '@dnsdist-ts/dataplane/io/udp-endpoint.js';
import { SocketAddress } from '@dnsdist-ts/dataplane/query/client-address.js';
import type { DnsdistProxy, RunningFrontend } from '@dnsdist-ts/dataplane/server/dnsdist-proxy.js';
import { TcpFrontend } from '@dnsdist-ts/dataplane/server/tcp-frontend.js';
import { TlsStreamUpgrade } from '@dnsdist-ts/dataplane/server/tls-frontend.js';
import { UdpFrontend } from '@dnsdist-ts/dataplane/server/udp-frontend.js';

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
  /** Bound port per addTLSLocal listener (tlsFrontendConfigs order); absent: as configured. */
  tlsPorts?: number[];
  /** Bound port per addDOHLocal listener (dohFrontends order); absent: as configured. */
  dohPorts?: number[];
  /** Bound port per addDNSCryptBind listener (dnscryptBinds order); absent: as configured. */
  dnscryptPorts?: number[];
}

/** The ports a worker bound for its DoT and DoH listeners, to share with the other workers. */
export interface EncryptedListenerPorts {
  tls: number[];
  doh: number[];
  dnscrypt: number[];
}

/**
 * Worker side, before start(): every DoT and DoH listener is opened with
 * SO_REUSEPORT, on the ports the first worker got when given (port 0 made
 * one real port all workers share), as the plain listeners are.
 */
export function shareEncryptedListeners(proxy: DnsdistProxy, ports: EncryptedListenerPorts | undefined): void {
  proxy.tlsFrontendConfigs.forEach((fc, i) => {
    fc.reusePort = true;
    if (ports) fc.port = ports.tls[i]!;
  });
  proxy.dohFrontends.forEach((doh, i) => {
    doh.config.reusePort = true;
    if (ports) doh.config.port = ports.doh[i]!;
  });
  // DNSCrypt listeners too: their certificates are the control plane's (worker-keys.ts).
  proxy.dnscryptBinds.forEach((bind, i) => {
    bind.config.reusePort = true;
    if (ports) bind.config.port = ports.dnscrypt[i]!;
  });
}

/** Worker side, once started: the ports its DoT and DoH listeners got. */
export function encryptedListenerPorts(proxy: DnsdistProxy): EncryptedListenerPorts {
  return {
    tls: proxy.tlsFrontendConfigs.map((fc) => proxy.tlsFrontends.find((r) => r.config === fc)?.tcp.local.port ?? fc.port),
    doh: proxy.dohFrontends.map((d) => d.local.port),
    dnscrypt: proxy.dnscryptBinds.map((b) => b.local.port),
  };
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
  mirrorEncryptedListeners(proxy, info);
  return out;
}

/**
 * The control plane's DoT, DoH and DNSCrypt listeners: no socket, the workers' port,
 * and the objects whose counters read the workers' live (live-counters.ts),
 * so that showTLSContexts, showDOHFrontends, the API and /metrics read them as
 * with one worker. Their "Listening on" lines are logged here.
 */
function mirrorEncryptedListeners(proxy: DnsdistProxy, info: WorkerListenerInfo): void {
  proxy.tlsFrontends.length = 0;
  proxy.tlsFrontendConfigs.forEach((config, i) => {
    if (info.tlsPorts) config.port = info.tlsPorts[i]!;
    const local = new SocketAddress(parseAddress(config.host).bytes, config.port);
    const tcp = TcpFrontend.detached(local, proxy.processor, {
      maxInFlight: config.maxInFlight,
      maxConcurrentConnections: config.maxConcurrentTCPConnections,
      idleTimeoutSeconds: proxy.settings.tcpRecvTimeoutSeconds,
      listenQueueSize: config.tcpListenQueueSize,
    });
    proxy.tlsFrontends.push({ config, tcp, tls: new TlsStreamUpgrade(config.tls, proxy.settings.tcpRecvTimeoutSeconds, false) });
    if (info.tlsPorts) proxy.log.info(`Listening on ${local.toStringWithPort()} for TLS`);
  });
  proxy.dohFrontends.forEach((doh, i) => {
    if (!info.dohPorts) return;
    doh.boundElsewhere(info.dohPorts[i]!);
    proxy.log.info(`Listening on ${doh.local.toStringWithPort()} for DoH`);
  });
  proxy.dnscryptBinds.forEach((bind, i) => {
    if (!info.dnscryptPorts) return;
    bind.local = new SocketAddress(parseAddress(bind.config.host).bytes, info.dnscryptPorts[i]!);
    proxy.log.info(`Listening on ${bind.local.toStringWithPort()} for DNSCrypt`);
  });
}
