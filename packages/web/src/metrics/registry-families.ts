/**
 * The families of `/metrics` served by a prom-client Registry. The writers
 * (dnsdist's families, ours, the addBPFMapGauge gauges) fill a
 * ScrapedFamilies from the proxy's plain counters when a scrape begins;
 * each family is a metric registered on the registry whose `get()` hands
 * the registry that scrape's samples. The query path never calls into
 * prom-client: it only increments its counters.
 *
 * The registry calls every metric's `get()` synchronously at the start of
 * `metrics()`, so the samples it formats are those of one reading of the
 * counters (one statsSnapshot for the fifty general families, not fifty).
 */
import { createRequire } from 'node:module';
import type { Metric, Registry } from 'prom-client';
import type { MetricsSink } from './metrics-sink.js';
import { isLabelName, isMetricName, PrometheusFormatError, type PrometheusLabels, type PrometheusType } from './prometheus-text-writer.js';

/** Prefix of prom-client's default process and Node.js metrics on `/metrics`. */
export const PROCESS_METRICS_PREFIX = 'dnsdist_ts_';

/** One sample as prom-client's registry formats it. */
interface RegistrySample {
  readonly value: number;
  readonly labels: Record<string, string>;
  /** The full sample name when it is not the family's (histogram `_bucket`, `_sum`, `_count`). */
  readonly metricName?: string;
}

interface ScrapedFamily {
  readonly name: string;
  readonly type: PrometheusType;
  readonly help: string;
  readonly values: RegistrySample[];
}

/** One scrape's families and samples, in the order written. */
export class ScrapedFamilies implements MetricsSink {
  readonly families = new Map<string, ScrapedFamily>();
  #open: ScrapedFamily | undefined;

  family(name: string, type: PrometheusType, help: string): void {
    if (!isMetricName(name)) throw new PrometheusFormatError(`"${name}" is not a valid Prometheus metric name`, name);
    if (this.families.has(name)) {
      throw new PrometheusFormatError(`metric family "${name}" is written twice: give each family one name`, name);
    }
    this.#open = { name, type, help, values: [] };
    this.families.set(name, this.#open);
  }

  sample(name: string, value: number | bigint, labels?: PrometheusLabels): void {
    const open = this.#open;
    const ofHistogram = open?.type === 'histogram' && [`${open.name}_bucket`, `${open.name}_sum`, `${open.name}_count`].includes(name);
    if (!open || (name !== open.name && !ofHistogram)) {
      throw new PrometheusFormatError(`sample "${name}" written outside its family: call family("${name}", ...) first`, name);
    }
    const record: Record<string, string> = {};
    for (const [k, v] of labels ?? []) {
      if (!isLabelName(k)) throw new PrometheusFormatError(`"${k}" is not a valid Prometheus label name (metric ${name})`, k);
      record[k] = v;
    }
    // prom-client formats numbers only; Prometheus keeps float64 anyway (u64 counters lose digits above 2^53 there too).
    const v = typeof value === 'bigint' ? Number(value) : value;
    open.values.push(name === open.name ? { value: v, labels: record } : { value: v, labels: record, metricName: name });
  }
}

/**
 * A registry metric whose samples are those of the scrape being rendered.
 * It has the members the registry reads (name, help, type, aggregator,
 * get); prom-client's own metric classes keep state set from the hot
 * path, which this one has no use for.
 */
class ScrapeBackedMetric {
  readonly aggregator = 'sum';
  readonly #read: () => ScrapedFamily | undefined;
  help: string;
  type: PrometheusType;

  constructor(
    readonly name: string,
    first: ScrapedFamily,
    read: () => ScrapedFamily | undefined,
  ) {
    this.help = first.help;
    this.type = first.type;
    this.#read = read;
  }

  get(): { name: string; help: string; type: PrometheusType; aggregator: string; values: RegistrySample[] } {
    const f = this.#read();
    if (f) {
      this.help = f.help;
      this.type = f.type;
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: f?.values ?? [] };
  }
}

/**
 * prom-client, loaded when the webserver starts (MetricsExposition.prepare)
 * or else on first use: with its dependencies it is some ninety modules,
 * 45–150 ms of one synchronous hold of the event loop, which a proxy
 * without a webserver never pays and a scrape must not (it was the longest
 * hold of the first scrape). It is CommonJS, so a synchronous require keeps
 * the callers synchronous.
 */
let promClient: typeof import('prom-client') | undefined;
function loadPromClient(): typeof import('prom-client') {
  promClient ??= createRequire(import.meta.url)('prom-client') as typeof import('prom-client');
  return promClient;
}

/** Has prom-client been loaded in this process (module instance)? */
export function promClientLoaded(): boolean {
  return promClient !== undefined;
}

/** The prom-client registry of the proxy's families. */
export class FamilyRegistry {
  #registry: Registry | undefined;
  #current: ScrapedFamilies | undefined;

  /**
   * The exposition text of one scrape's families. A family seen for the
   * first time is registered (after those already known, so the order
   * stays the writers' order); a known family missing from this scrape
   * shows its HELP and TYPE without samples.
   */
  /** The registry itself, created (and prom-client loaded) on first use. */
  get registry(): Registry {
    this.#registry ??= new (loadPromClient().Registry)();
    return this.#registry;
  }

  render(scraped: ScrapedFamilies): Promise<string> {
    for (const f of scraped.families.values()) {
      if (this.registry.getSingleMetric(f.name)) continue;
      const metric = new ScrapeBackedMetric(f.name, f, () => this.#current?.families.get(f.name));
      this.registry.registerMetric(metric as unknown as Metric);
    }
    this.#current = scraped;
    try {
      // Every get() runs before metrics() first awaits: they all see `scraped`.
      return this.registry.metrics().then(asDnsdistText);
    } finally {
      this.#current = undefined;
    }
  }
}

/**
 * prom-client's text as dnsdist writes its own: prom-client writes a NaN
 * value as "Nan" (the text format and strict parsers spell it "NaN"; an
 * empty event-loop delay histogram, the first scrape, has NaN means), and
 * puts a blank line after every family, which dnsdist never does (its own
 * Prometheus test reads every line that is not a comment as "name value").
 */
function asDnsdistText(text: string): string {
  return text.replace(/ Nan$/gm, ' NaN').replace(/\n\n+/g, '\n');
}

/** The default process and Node.js metrics, as exposition text. */
export async function processMetricsText(): Promise<string> {
  return asDnsdistText(await processMetricsRegistry().metrics());
}

let processRegistry: Registry | undefined;

/**
 * prom-client's default metrics (CPU, memory, heap spaces, GC, event-loop
 * lag, handles, file descriptors), named with PROCESS_METRICS_PREFIX. One
 * registry for the process: the metrics describe the process, and their
 * collectors (a GC observer, an event-loop delay monitor) are installed
 * once, however many proxies a process (a test run) starts.
 */
export function processMetricsRegistry(): Registry {
  if (!processRegistry) {
    const { Registry: PromRegistry, collectDefaultMetrics } = loadPromClient();
    processRegistry = new PromRegistry();
    collectDefaultMetrics({ register: processRegistry, prefix: PROCESS_METRICS_PREFIX });
    // Three of prom-client's gauges end in _total, which promtool flags and dnsdist's own
    // test_Prometheus.py refuses; their per-type families (nodejs_active_handles{type}, …) stay.
    for (const gauge of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
      processRegistry.removeSingleMetric(`${PROCESS_METRICS_PREFIX}${gauge}`);
    }
  }
  return processRegistry;
}
