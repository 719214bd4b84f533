/**
 * Prometheus exposition (a prom-client registry, plus the hand-written
 * per-entry kernel family): dnsdist 1.7.3's families, our `dnsdist_ts_` ones,
 * prom-client's process metrics, gauges over pinned BPF maps, and the provider interfaces other parts of
 * the proxy implement to appear in them.
 */
export {
  PrometheusTextWriter,
  PrometheusSeries,
  PrometheusFormatError,
  formatDouble,
  formatSampleValue,
  escapeLabelValue,
  escapeHelp,
  isMetricName,
  isLabelName,
  type PrometheusType,
  type PrometheusLabels,
} from './prometheus-text-writer.js';
export { DNSDIST_STATS, DNSDIST_JSON_ONLY_STATS, prometheusStatName, type DnsdistStatDefinition } from './dnsdist-stat-definitions.js';
export { writeDnsdistMetrics, serverLabel, type DnsdistMetricsSources, type RuleHitsSource } from './dnsdist-metrics.js';
export { writeDnsdistTsMetrics, type ScrapeSelfStats } from './dnsdist-ts-metrics.js';
export {
  MetricsExposition,
  METRICS_CONTENT_TYPE,
  KERNEL_ENTRIES_PARAMETER,
  MetricsOptionError,
  acceptsGzip,
  parseKernelEntryLimit,
  type MetricsExpositionSources,
  type MetricsScrape,
  type RuleChainsSource,
  type ScrapeOptions,
} from './metrics-exposition.js';
export type { MetricsSink } from './metrics-sink.js';
export {
  FamilyRegistry,
  ScrapedFamilies,
  processMetricsRegistry,
  processMetricsText,
  PROCESS_METRICS_PREFIX,
} from './registry-families.js';
export { EventLoopSlicer } from './event-loop-slicer.js';
export { writeKernelBlockHits, KERNEL_BLOCK_HITS, type KindActionTotals, type KernelBlockHitsOptions } from './kernel-block-hits.js';
export {
  ObservabilityProviders,
  type DynBlockView,
  type DynBlockListProvider,
  type ActiveBlockCounts,
  type DynBlockEngineStats,
  type DynBlockEngineStatsProvider,
  type HistogramSnapshot,
  type BlockKind,
  type BlockRequest,
  type BlockControl,
  type RegisteredFilterBlock,
  type EbpfBlockListProvider,
  type KernelCounterVisitor,
  type KernelCounterProvider,
  type XdpStatsSnapshot,
  type XdpStatsProvider,
} from './observability-providers.js';
export { TopOffendersTracker, type TopOffenders, type OffendersByReason } from './top-offenders.js';
export { BpfMapGauges } from './bpf-map-gauges.js';
export { BpfMapGaugeError, parseGaugeKey, readGauge, validateGaugeSpec, type BpfMapGaugeSpec } from './bpf-map-gauge.js';
export { bpfFilterKernelCounters, dynBpfFilterBlockList, type CountedFilter } from './bpf-filter-sources.js';
export { splitXdpStats } from './xdp-stats-split.js';
export { DynamicBlocksSource, type DynamicBlocksEngine } from './dynamic-blocks-source.js';
export { ebpfKernelCounters, ebpfRegisteredBlockList, ebpfXdpStats, type EbpfSide } from './proxy-ebpf-sources.js';
