/**
 * Where the family writers put a scrape's families: the prom-client
 * registry's per-scrape collection (ScrapedFamilies) or the hand-written
 * text (PrometheusTextWriter, for the per-entry families). The writers
 * name each family once, with its type and HELP, then its samples.
 */
import type { PrometheusLabels, PrometheusType } from './prometheus-text-writer.js';

export interface MetricsSink {
  /**
   * Start a family.
   *
   * @throws PrometheusFormatError for an invalid name or a family already written.
   */
  family(name: string, type: PrometheusType, help: string): void;
  /**
   * One sample of the open family (histograms: the full `_bucket`, `_sum`, `_count` name).
   *
   * @throws PrometheusFormatError when the sample does not belong to the open family or a label name is invalid.
   */
  sample(name: string, value: number | bigint, labels?: PrometheusLabels): void;
}
