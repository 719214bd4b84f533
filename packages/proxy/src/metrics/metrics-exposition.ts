/**
 * One `/metrics` scrape: dnsdist 1.7.3's families, then ours, then the
 * gauges declared over pinned maps. Everything is read from the proxy's
 * counters and the providers when the scrape happens; nothing is kept
 * between scrapes except the previous scrape's duration and error counts.
 */
import type { DnsdistProxy } from '../server/dnsdist-proxy.js';
import type { StatEntry } from '../stats/stats-snapshot.js';
import type { BpfMapGauges } from './bpf-map-gauges.js';
import { writeDnsdistMetrics, type RuleHitsSource } from './dnsdist-metrics.js';
import { writeDnsdistTsMetrics } from './dnsdist-ts-metrics.js';
import type { ObservabilityProviders } from './observability-providers.js';
import { PrometheusTextWriter } from './prometheus-text-writer.js';
import type { TopOffendersTracker } from './top-offenders.js';

/** The rule chains, in the order dnsdist lists their rules' hits. */
export interface RuleChainsSource {
  readonly query: { readonly rules: readonly RuleHitsSource[] };
  readonly response: { readonly rules: readonly RuleHitsSource[] };
  readonly cacheHit: { readonly rules: readonly RuleHitsSource[] };
  readonly selfAnswered: { readonly rules: readonly RuleHitsSource[] };
}

export interface MetricsExpositionSources {
  readonly proxy: DnsdistProxy;
  readonly rules: RuleChainsSource;
  readonly providers: ObservabilityProviders;
  readonly gauges: BpfMapGauges;
  readonly topOffenders: TopOffendersTracker;
  /** The general statistics now (statsSnapshot). */
  readonly stats: () => StatEntry[];
  /** `version` label of dnsdist_info. */
  readonly version: string;
}

/** Content-Type of the exposition (dnsdist sends plain "text/plain"). */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4';

export class MetricsExposition {
  readonly #src: MetricsExpositionSources;
  #lastScrapeSeconds = 0;
  #lastSize = 0;
  readonly #providerErrors = new Map<string, number>();

  constructor(sources: MetricsExpositionSources) {
    this.#src = sources;
  }

  /** Render a scrape, as text. */
  render(): string {
    return this.renderBytes().toString('utf8');
  }

  /** Render a scrape, as the UTF-8 bytes the webserver sends. */
  renderBytes(): Buffer {
    const started = performance.now();
    const src = this.#src;
    const w = new PrometheusTextWriter(this.#lastSize + this.#lastSize / 8);
    const r = src.rules;
    writeDnsdistMetrics(w, {
      stats: src.stats(),
      servers: src.proxy.servers,
      frontends: src.proxy.frontends,
      pools: src.proxy.pools,
      rules: [...r.query.rules, ...r.response.rules, ...r.cacheHit.rules, ...r.selfAnswered.rules],
      topOffenders: src.topOffenders.current(),
      version: src.version,
    });
    writeDnsdistTsMetrics(w, src.providers, { lastScrapeSeconds: this.#lastScrapeSeconds, providerErrors: this.#providerErrors });
    src.gauges.write(w);
    const bytes = w.bytes();
    this.#lastSize = bytes.length;
    this.#lastScrapeSeconds = (performance.now() - started) / 1000;
    return bytes;
  }
}
