/**
 * The observability side of the application: the webserver's settings and
 * routes, the metrics exposition, the providers other parts plug into,
 * the BPF map gauges, and the webserver's lifecycle. The Lua bindings
 * (bind-web.ts) configure it; it knows nothing about Lua.
 */
import { formatAddress, formatAddressWithPort, type IpAddressWithPort } from '@dnsdist-ts/dns';
import { listenError } from '@dnsdist-ts/dataplane/io/listen-error.js';
import { BpfMapGauges } from '../metrics/bpf-map-gauges.js';
import { MetricsExposition, type RuleChainsSource } from '../metrics/metrics-exposition.js';
import { ObservabilityProviders } from '../metrics/observability-providers.js';
import { TopOffendersTracker } from '../metrics/top-offenders.js';
import type { DnsdistProxy } from '@dnsdist-ts/dataplane/server/dnsdist-proxy.js';
import { statsSnapshot, type StatEntry } from '@dnsdist-ts/dataplane/stats/stats-snapshot.js';
import { VERSION } from '@dnsdist-ts/dataplane/version.js';
import type { ApiRuleChains } from './api-status-json.js';
import { DashboardData } from './dashboard-data.js';
import { WebRoutes } from './web-routes.js';
import { Webserver } from './webserver.js';
import { WebserverClosures } from './webserver-closures.js';
import { WebserverConfig } from './webserver-config.js';

export interface WebServiceOptions {
  readonly proxy: DnsdistProxy;
  readonly rules: RuleChainsSource & ApiRuleChains;
  /** The console address for the API's `control-socket` setting. */
  readonly controlSocket: () => string;
}

export class WebService {
  readonly config = new WebserverConfig();
  readonly providers = new ObservabilityProviders();
  readonly gauges = new BpfMapGauges();
  readonly topOffenders = new TopOffendersTracker();
  /** Webserver connections ended without a normal answer (kept across restarts of the webserver). */
  readonly closures = new WebserverClosures();
  readonly metrics: MetricsExposition;
  readonly dashboard: DashboardData;
  readonly routes: WebRoutes;
  readonly #proxy: DnsdistProxy;
  /** Where `webserver()` asked to listen. */
  #address: IpAddressWithPort | undefined;
  #server: Webserver | undefined;
  #started = false;
  #sampler: NodeJS.Timeout | undefined;

  constructor(options: WebServiceOptions) {
    this.#proxy = options.proxy;
    const stats = (): StatEntry[] =>
      statsSnapshot({
        counters: options.proxy.counters,
        startedAt: options.proxy.startedAt,
        dynBlockNmgSize: () => this.providers.nmgSize(),
      });
    this.metrics = new MetricsExposition({
      proxy: options.proxy,
      rules: options.rules,
      providers: this.providers,
      gauges: this.gauges,
      topOffenders: this.topOffenders,
      webserverClosures: this.closures.counts,
      stats,
      version: VERSION,
    });
    this.dashboard = new DashboardData(options.proxy, this.providers, VERSION);
    this.routes = new WebRoutes({
      api: { proxy: options.proxy, rules: options.rules, stats, controlSocket: options.controlSocket, version: VERSION },
      providers: this.providers,
      metrics: this.metrics,
      dashboard: this.dashboard,
      config: this.config,
      log: options.proxy.log,
    });
  }

  /** The running webserver, if any. */
  get server(): Webserver | undefined {
    return this.#server;
  }

  /**
   * `webserver(address)`: remember the address; once the application runs,
   * (re)start listening there at once.
   */
  async setAddress(address: IpAddressWithPort): Promise<void> {
    this.#address = address;
    if (this.#started) await this.#listen();
  }

  /** Start the webserver (when an address was given) and the top-offender sampling. */
  async start(): Promise<void> {
    this.#started = true;
    this.#sampler ??= setInterval(() => this.sampleTopOffenders(), TopOffendersTracker.SAMPLE_INTERVAL_MS).unref();
    this.sampleTopOffenders();
    if (this.#address) await this.#listen();
  }

  /** Take one top-offender sample (every 10 s while running). */
  sampleTopOffenders(): void {
    try {
      // Blocks without hits never rank (they grew by nothing): with 100,000 idle blocks this held the loop ~100 ms.
      this.topOffenders.sample(this.providers.activeBlocksWithHits());
    } catch (err) {
      this.#proxy.log.debug(`Could not sample the dynamic blocks for the top offenders: ${(err as Error).message}`);
    }
  }

  async #listen(): Promise<void> {
    const address = this.#address;
    if (!address) return;
    const log = this.#proxy.log;
    await this.#server?.close();
    this.#server = undefined;
    // Before the first request can come: the first scrape would otherwise load prom-client.
    this.metrics.prepare();
    try {
      this.#server = await Webserver.listen(address, { config: this.config, routes: this.routes, log, closures: this.closures });
    } catch (err) {
      // As in dnsdist, a webserver that cannot bind is reported and the proxy carries on.
      const where = formatAddressWithPort(address);
      const e = listenError(err, `webserver(${JSON.stringify(where)})`, formatAddress(address.bytes), address.port, 'tcp');
      log.error(e.message);
      return;
    }
    log.warn(`Webserver launched on ${this.#server.address}`);
    if (!this.config.password) log.warn(`Webserver launched on ${this.#server.address} without a password set!`);
  }

  async stop(): Promise<void> {
    this.#started = false;
    if (this.#sampler) clearInterval(this.#sampler);
    this.#sampler = undefined;
    await this.#server?.close();
    this.#server = undefined;
    await this.metrics.close();
  }
}
