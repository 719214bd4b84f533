import { BpfMapGaugeError, readGauge, validateGaugeSpec, type BpfMapGaugeSpec } from './bpf-map-gauge.js';
import type { MetricsSink } from './metrics-sink.js';

/**
 * The gauges declared with addBPFMapGauge, grouped into families by name,
 * and their reading at scrape time. A map that is missing or a key that
 * does not fit is counted in `dnsdist_ts_bpf_map_gauge_read_errors_total`
 * and leaves no sample, instead of failing the scrape.
 */
export class BpfMapGauges {
  readonly #families = new Map<string, BpfMapGaugeSpec[]>();
  readonly #errors = new Map<string, number>();
  /** Last read error per gauge name, for the log. */
  lastError: Error | undefined;

  /**
   * Declare a gauge. Several declarations may share a name (one family)
   * when their help and type agree and their labels differ.
   *
   * @throws BpfMapGaugeError for an invalid declaration or a clash with an earlier one.
   */
  add(spec: BpfMapGaugeSpec): void {
    validateGaugeSpec(spec);
    const family = this.#families.get(spec.name);
    if (family) {
      const first = family[0]!;
      if (first.help !== spec.help || first.type !== spec.type) {
        throw new BpfMapGaugeError(
          `addBPFMapGauge: "${spec.name}" was declared before with another help text or type; give this one another name`,
          spec.name,
        );
      }
      const id = labelId(spec);
      if (family.some((s) => labelId(s) === id)) {
        throw new BpfMapGaugeError(
          `addBPFMapGauge: "${spec.name}" with labels {${id}} is declared twice; give it distinct labels`,
          spec.name,
        );
      }
      family.push(spec);
    } else {
      this.#families.set(spec.name, [spec]);
    }
  }

  get size(): number {
    let n = 0;
    for (const f of this.#families.values()) n += f.length;
    return n;
  }

  /** Read every gauge and write the families, then the error counter. */
  write(w: MetricsSink): void {
    for (const [name, specs] of this.#families) {
      w.family(name, specs[0]!.type, specs[0]!.help);
      for (const spec of specs) {
        let value: bigint | undefined;
        try {
          value = readGauge(spec);
        } catch (err) {
          this.#errors.set(name, (this.#errors.get(name) ?? 0) + 1);
          this.lastError = err as Error;
          continue;
        }
        if (value !== undefined) w.sample(name, value, spec.labels);
      }
    }
    w.family(
      'dnsdist_ts_bpf_map_gauge_read_errors_total',
      'counter',
      'Scrapes in which a gauge declared with addBPFMapGauge could not be read',
    );
    for (const [name, n] of this.#errors) w.sample('dnsdist_ts_bpf_map_gauge_read_errors_total', n, [['gauge', name]]);
  }
}

function labelId(spec: BpfMapGaugeSpec): string {
  return spec.labels.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',');
}
