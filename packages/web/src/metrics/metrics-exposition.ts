/**
 * One `/metrics` scrape: dnsdist 1.7.3's families, ours, and the gauges
 * declared over pinned maps, served by a prom-client Registry; then
 * prom-client's default process and Node.js metrics; then the per-entry
 * kernel family, written by hand (kernel-block-hits.ts). Everything is read
 * from the proxy's counters and the providers when the scrape happens;
 * nothing is kept between scrapes except the previous scrape's duration
 * and error counts.
 *
 * The per-entry family (nearly all of a large scrape) is read and written
 * on a thread of its own (kernel-entries-thread.ts) when every kernel
 * provider is a set of BPF filters, as the proxy's are: its allocations and
 * garbage collections happen on that thread's heap, not on the event loop
 * that answers DNS. Other providers are walked on the event loop in slices
 * that give the loop back every few milliseconds. gzip runs on libuv's
 * thread pool.
 */
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { DnsdistProxy } from '@dnsdist-ts/dataplane/server/dnsdist-proxy.js';
import type { StatEntry } from '@dnsdist-ts/dataplane/stats/stats-snapshot.js';
import type { BpfMapGauges } from './bpf-map-gauges.js';
import { writeDnsdistMetrics, type RuleHitsSource } from './dnsdist-metrics.js';
import { writeCarbonMetrics, writeDnsdistTsMetrics } from './dnsdist-ts-metrics.js';
import { EventLoopSlicer } from './event-loop-slicer.js';
import { writeKernelBlockHits, type KindActionTotals } from './kernel-block-hits.js';
import { KernelEntriesThread, type RenderedEntries } from './kernel-entries-thread.js';
import type { KernelCounterProvider, KernelFilter, ObservabilityProviders } from './observability-providers.js';
import { PrometheusTextWriter } from './prometheus-text-writer.js';
import { FamilyRegistry, processMetricsRegistry, processMetricsText, ScrapedFamilies } from './registry-families.js';
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
  /** Webserver connections ended without a normal answer, by reason (absent: the family is written empty). */
  readonly webserverClosures?: ReadonlyMap<string, number>;
  /** The general statistics now (statsSnapshot). */
  readonly stats: () => StatEntry[];
  /** `version` label of dnsdist_info. */
  readonly version: string;
}

/** Content-Type of the exposition (dnsdist sends plain "text/plain"). */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4';

/** Query parameter of `/metrics` bounding the per-entry kernel family: `?kernel_entries=1000`. */
export const KERNEL_ENTRIES_PARAMETER = 'kernel_entries';

/** A `/metrics` option that cannot be used; `input` is the offending value. */
export class MetricsOptionError extends Error {
  readonly input: string;
  constructor(message: string, input: string) {
    super(message);
    this.name = new.target.name;
    this.input = input;
  }
}

/**
 * The value of `?kernel_entries=`: a whole number of samples (0 keeps only
 * the totals). Undefined (no parameter) means every entry.
 *
 * @throws MetricsOptionError for anything else.
 */
export function parseKernelEntryLimit(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,9}$/.test(text)) {
    throw new MetricsOptionError(`${KERNEL_ENTRIES_PARAMETER} must be a whole number of samples (0 to 999999999), got "${text}"`, text);
  }
  return Number(text);
}

/** Does an Accept-Encoding header allow gzip (listed, or `*`, without q=0)? */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  let star = false;
  for (const part of header.split(',')) {
    const [coding = '', ...params] = part.trim().toLowerCase().split(';');
    const refused = params.some((p) => /^\s*q\s*=\s*0(\.0{0,3})?\s*$/.test(p));
    if (coding.trim() === 'gzip') return !refused;
    if (coding.trim() === '*') star = !refused;
  }
  return star;
}

export interface ScrapeOptions {
  /** At most this many per-entry kernel samples (those with the most hits); undefined: all. */
  readonly kernelEntryLimit?: number | undefined;
  /** Compress with gzip (the scraper accepts it). */
  readonly gzip?: boolean;
}

/** A scrape as the webserver sends it. */
export interface MetricsScrape {
  readonly body: Buffer;
  /** `gzip` when the body is compressed. */
  readonly contentEncoding: 'gzip' | undefined;
  /** The body is a view of a buffer reused by later scrapes: call this once it is written out (or will not be). */
  readonly release?: () => void;
}

const gzipAsync = promisify(gzip);

/** Each provider's filters, when every provider is only filters (the renderer thread can read them); otherwise undefined. */
function filtersOfAll(providers: readonly KernelCounterProvider[]): KernelFilter[][] | undefined {
  if (providers.length === 0 || !providers.every((p) => typeof p.kernelFilters === 'function')) return undefined;
  return providers.map((p) => [...p.kernelFilters!()]);
}

export class MetricsExposition {
  readonly #src: MetricsExpositionSources;
  readonly #registry = new FamilyRegistry();
  #lastScrapeSeconds = 0;
  #lastLongestSliceSeconds = 0;
  #lastEntriesSize = 0;
  readonly #providerErrors = new Map<string, number>();
  #thread = new KernelEntriesThread();

  constructor(sources: MetricsExpositionSources) {
    this.#src = sources;
  }

  /** The per-entry renderer thread (its worker is started by the first scrape that needs it). */
  get renderThread(): KernelEntriesThread {
    return this.#thread;
  }

  /** Use another renderer thread (other timeout or worker, as tests do); the current one is stopped. */
  async replaceRenderThread(thread: KernelEntriesThread): Promise<void> {
    const old = this.#thread;
    this.#thread = thread;
    await old.close();
  }

  /** Stop the renderer thread (the webserver stopped); a later scrape starts a new one. */
  async close(): Promise<void> {
    await this.#thread.close();
  }

  /**
   * Load prom-client and install the process metrics' collectors now (the
   * webserver is starting), so that the first scrape does not hold the
   * event loop for the module loading.
   */
  prepare(): void {
    void this.#registry.registry;
    processMetricsRegistry();
  }

  /** The prom-client registry of dnsdist's families and ours (not the process metrics nor the per-entry family). */
  get registry(): FamilyRegistry {
    return this.#registry;
  }

  /** Render a scrape, as text. */
  async render(options: ScrapeOptions = {}): Promise<string> {
    return (await this.renderBytes(options)).toString('utf8');
  }

  /** A scrape for the webserver: rendered, and compressed when asked. Call `release` once the body is sent. */
  async scrape(options: ScrapeOptions = {}): Promise<MetricsScrape> {
    return this.#scrape(options, options.gzip === true);
  }

  /** Render a scrape, as the UTF-8 bytes the webserver sends (a buffer of the caller's own). */
  async renderBytes(options: ScrapeOptions = {}): Promise<Buffer> {
    const s = await this.#scrape(options, false);
    if (!s.release) return s.body;
    const copy = Buffer.from(s.body);
    s.release();
    return copy;
  }

  async #scrape(options: ScrapeOptions, gzip: boolean): Promise<MetricsScrape> {
    const started = performance.now();
    // Counts the loop's holds only: the waits for the renderer thread and for gzip are not holds.
    const slicer = new EventLoopSlicer();
    const src = this.#src;
    const onError = (name: string): void => void this.#providerErrors.set(name, (this.#providerErrors.get(name) ?? 0) + 1);
    let kernel: KindActionTotals[];
    let threaded: RenderedEntries | undefined;
    let entryBytes: Buffer | undefined;
    const filters = filtersOfAll(src.providers.kernelCounters);
    if (filters) {
      threaded = await slicer.wait(this.#thread.render(filters, options.kernelEntryLimit));
      for (const [name] of threaded.errors) onError(name);
      kernel = threaded.totals;
    } else {
      const entries = new PrometheusTextWriter(this.#lastEntriesSize + this.#lastEntriesSize / 8);
      kernel = await writeKernelBlockHits(entries, src.providers.kernelCounters, slicer, { limit: options.kernelEntryLimit, onError });
      entryBytes = entries.bytes();
      this.#lastEntriesSize = entryBytes.length;
    }
    let head: string;
    try {
      head = await this.#head(kernel, slicer);
    } catch (err) {
      threaded?.drop();
      throw err;
    }
    let scrape: MetricsScrape;
    if (threaded) {
      // The thread puts the head before the family it holds (and gzips) in a buffer reused across scrapes.
      const b = await slicer.wait(threaded.finish(head, gzip));
      scrape = { body: b.body, contentEncoding: gzip ? 'gzip' : undefined, release: b.release };
      this.#lastScrapeSeconds = (performance.now() - started) / 1000;
    } else {
      const plain = Buffer.concat([Buffer.from(head, 'utf8'), entryBytes!]);
      this.#lastScrapeSeconds = (performance.now() - started) / 1000;
      // Level 1: a fifth of the CPU of the default level for a text this repetitive, about as small.
      scrape = gzip
        ? { body: await slicer.wait(gzipAsync(plain, { level: 1 })), contentEncoding: 'gzip' }
        : { body: plain, contentEncoding: undefined };
    }
    this.#lastLongestSliceSeconds = slicer.longestSliceMs / 1000;
    return scrape;
  }

  /** Every family but the per-entry one, as text: dnsdist's, ours, the map gauges, then the process metrics. */
  async #head(kernel: KindActionTotals[], slicer: EventLoopSlicer): Promise<string> {
    await slicer.checkpoint();
    const src = this.#src;
    const families = new ScrapedFamilies();
    const r = src.rules;
    writeDnsdistMetrics(families, {
      stats: src.stats(),
      servers: src.proxy.servers,
      frontends: src.proxy.frontends,
      tlsFrontends: src.proxy.tlsFrontends,
      dohFrontends: src.proxy.dohFrontends,
      dnscryptBinds: src.proxy.dnscryptBinds,
      pools: src.proxy.pools,
      rules: [...r.query.rules, ...r.response.rules, ...r.cacheHit.rules, ...r.selfAnswered.rules],
      topOffenders: src.topOffenders.current(),
      version: src.version,
    });
    writeDnsdistTsMetrics(
      families,
      src.providers,
      {
        lastScrapeSeconds: this.#lastScrapeSeconds,
        lastLongestSliceSeconds: this.#lastLongestSliceSeconds,
        providerErrors: this.#providerErrors,
        webserverClosures: src.webserverClosures,
      },
      kernel,
    );
    writeCarbonMetrics(families, src.proxy.carbon?.endpoints ?? []);
    src.gauges.write(families);
    // Three stages of a millisecond or two each (reading the counters, prom-client formatting them, the
    // process metrics), each its own turn: together they held the loop for up to 5 ms of CPU.
    await slicer.yield();
    const familiesText = await this.#registry.render(families);
    await slicer.yield();
    const processText = await processMetricsText();
    await slicer.checkpoint();
    return familiesText + processText;
  }

  /** Seconds of the longest stretch the previous scrape held the event loop. */
  get lastLongestSliceSeconds(): number {
    return this.#lastLongestSliceSeconds;
  }
}
