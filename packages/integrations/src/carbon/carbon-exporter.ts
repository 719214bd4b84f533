/**
 * dnsdist's `carbonServer`: every `interval` seconds, a TCP connection to
 * each Carbon (Graphite) server carries the plaintext lines of
 * carbon-lines.ts, then closes. A failed export is logged and counted and
 * the next one comes at the next interval (no backlog is kept, as dnsdist).
 */
import net from 'node:net';
import { formatAddress, formatAddressWithPort, type IpAddressWithPort } from '@dnsdist-ts/dns';
import type { Logger } from '@dnsdist-ts/dataplane/server/logger.js';
import { carbonLines, carbonPrefix, type CarbonSources } from './carbon-lines.js';

/** One carbonServer(...) as configured. */
export interface CarbonEndpointConfig {
  address: IpAddressWithPort;
  /** Second path component: the host's name, dots as underscores, unless given. */
  ourname: string;
  /** Seconds between exports. */
  interval: number;
  namespace: string;
  instance: string;
}

/** One Carbon server and what its exports did. */
export class CarbonEndpoint {
  readonly config: CarbonEndpointConfig;
  readonly addressText: string;
  /** Exports written whole to the server. */
  sent = 0;
  /** Exports that failed (connection refused or timed out, write error). */
  failed = 0;
  timer: NodeJS.Timeout | undefined;

  constructor(config: CarbonEndpointConfig) {
    this.config = config;
    this.addressText = formatAddressWithPort(config.address);
  }
}

/** Seconds an export may take to connect and hand its data over (dnsdist waits 1 s for the connection). */
const EXPORT_TIMEOUT_MS = 1000;

export class CarbonExporter {
  readonly endpoints: CarbonEndpoint[] = [];
  readonly #sources: () => CarbonSources;
  readonly #log: Logger;
  #running = false;

  constructor(sources: () => CarbonSources, log: Logger) {
    this.#sources = sources;
    this.#log = log;
  }

  /** Add a Carbon server; its exports start now when the proxy runs already, else at start(). */
  add(config: CarbonEndpointConfig): CarbonEndpoint {
    const endpoint = new CarbonEndpoint(config);
    this.endpoints.push(endpoint);
    if (this.#running) this.#schedule(endpoint);
    return endpoint;
  }

  start(): void {
    this.#running = true;
    for (const e of this.endpoints) this.#schedule(e);
  }

  stop(): void {
    this.#running = false;
    for (const e of this.endpoints) {
      clearInterval(e.timer);
      e.timer = undefined;
    }
  }

  #schedule(endpoint: CarbonEndpoint): void {
    endpoint.timer = setInterval(() => void this.exportOnce(endpoint), endpoint.config.interval * 1000);
    // The exports alone must not keep a stopping process alive.
    endpoint.timer.unref();
  }

  /** Send one export to `endpoint` now; resolves with whether it was written whole. */
  exportOnce(endpoint: CarbonEndpoint): Promise<boolean> {
    const { address, namespace, ourname, instance } = endpoint.config;
    return new Promise((resolve) => {
      // Connect first, so the connection is made while the figures are gathered (as dnsdist).
      const socket = net.connect({ host: formatAddress(address.bytes), port: address.port });
      const text = carbonLines(this.#sources(), carbonPrefix(namespace, ourname, instance), Math.floor(Date.now() / 1000));
      let settled = false;
      const finish = (ok: boolean, reason?: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (ok) endpoint.sent++;
        else {
          endpoint.failed++;
          socket.destroy();
          this.#log.warn(`Problem sending carbon data to ${endpoint.addressText}: ${reason ?? 'unknown error'}`);
        }
        resolve(ok);
      };
      const timer = setTimeout(() => finish(false, 'Timeout'), EXPORT_TIMEOUT_MS);
      socket.on('error', (err: NodeJS.ErrnoException) => finish(false, err.code ?? err.message));
      socket.on('connect', () => {
        socket.end(text, () => finish(true));
      });
    });
  }
}
