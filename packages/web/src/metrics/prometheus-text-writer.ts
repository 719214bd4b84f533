/**
 * Prometheus text exposition format 0.0.4, written by hand: the scrape
 * reads the proxy's plain counters and prints them, so nothing on the
 * query path ever touches a metrics library.
 *
 * A family is opened with `family()` (HELP and TYPE lines) and its samples
 * follow; the writer refuses a second TYPE for the same name and samples
 * of a family that was not opened, so the output is always one group per
 * family, as the format requires.
 *
 * ```ts
 * const w = new PrometheusTextWriter();
 * w.family('dnsdist_queries', 'counter', 'Number of received queries');
 * w.sample('dnsdist_queries', 42);
 * w.family('dnsdist_server_status', 'gauge', 'Whether this backend is up (1) or down (0)');
 * w.sample('dnsdist_server_status', 1, [['server', 'b1'], ['address', '192.0.2.1:53']]);
 * w.text(); // "# HELP dnsdist_queries ...\n# TYPE ...\ndnsdist_queries 42\n..."
 * ```
 */

/** The metric types this exposition uses. */
export type PrometheusType = 'counter' | 'gauge' | 'histogram' | 'untyped';

/** Label pairs in output order. */
export type PrometheusLabels = ReadonlyArray<readonly [string, string]>;

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A metric or label name the text format cannot carry, or a family written twice. */
export class PrometheusFormatError extends Error {
  /** The offending name. */
  readonly input: string;
  constructor(message: string, input: string) {
    super(message);
    this.name = new.target.name;
    this.input = input;
  }
}

/** Is `name` a valid metric name? */
export function isMetricName(name: string): boolean {
  return METRIC_NAME.test(name);
}

/** Is `name` a valid label name (and not reserved with a `__` prefix)? */
export function isLabelName(name: string): boolean {
  return LABEL_NAME.test(name) && !name.startsWith('__');
}

/** Escape a label value: backslash, double quote and newline. */
export function escapeLabelValue(value: string): string {
  // Most values need nothing: skip the three replaces in that case.
  if (!/[\\"\n]/.test(value)) return value;
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Escape HELP text: backslash and newline. */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/**
 * A number as dnsdist's C++ stream prints a double: six significant digits,
 * trailing zeros dropped, exponent notation outside 1e-5..1e6 (`%g`).
 * Integers that fit print whole.
 */
export function formatDouble(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : '-Inf';
  if (value === 0) return '0';
  // %g decides on the exponent after rounding to six digits, which toExponential(5) gives.
  const [mant, e] = value.toExponential(5).split('e') as [string, string];
  const exp = Number(e);
  const strip = (t: string): string => (t.includes('.') ? t.replace(/0+$/, '').replace(/\.$/, '') : t);
  if (exp < -4 || exp >= 6) return `${strip(mant)}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return strip(value.toFixed(5 - exp));
}

/** A sample value: integers (and bigints) whole, other numbers as `formatDouble`. */
export function formatSampleValue(value: number | bigint): string {
  if (typeof value === 'bigint') return value.toString();
  if (Number.isSafeInteger(value)) return String(value);
  return formatDouble(value);
}

/** Label names already checked (the same few names come back in every sample). */
const CHECKED_LABEL_NAMES = new Set<string>();

function checkLabelName(name: string, metric: string): void {
  if (CHECKED_LABEL_NAMES.has(name)) return;
  if (!isLabelName(name)) throw new PrometheusFormatError(`"${name}" is not a valid Prometheus label name (metric ${metric})`, name);
  CHECKED_LABEL_NAMES.add(name);
}

export class PrometheusTextWriter {
  /**
   * The exposition so far, as UTF-8 bytes in a buffer that doubles when
   * full. Lines are written into it at once and become garbage young: a
   * string grown to megabytes would instead be a tree of 100,000 pieces
   * that the garbage collector has to promote and trace.
   */
  #buf: Buffer;
  #len = 0;
  /** Lines not yet in the buffer: written in batches of about 16 KiB, as each write has a fixed cost. */
  #pending = '';
  readonly #declared = new Set<string>();
  /** The family whose samples may be written now. */
  #open: { name: string; type: PrometheusType } | undefined;

  /** @param initialCapacity bytes to start with (the previous scrape's size spares the regrowth copies). */
  constructor(initialCapacity = 64 * 1024) {
    this.#buf = Buffer.allocUnsafe(Math.max(1024, initialCapacity));
  }

  /**
   * Start a family: writes its HELP and TYPE lines.
   *
   * @throws PrometheusFormatError for an invalid name or a family already written.
   */
  family(name: string, type: PrometheusType, help: string): void {
    if (!isMetricName(name)) throw new PrometheusFormatError(`"${name}" is not a valid Prometheus metric name`, name);
    if (this.#declared.has(name)) {
      throw new PrometheusFormatError(`metric family "${name}" is written twice: give each family one name`, name);
    }
    this.#declared.add(name);
    this.#open = { name, type };
    this.appendLine(`# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`);
  }

  /** Has this family been written already? */
  has(name: string): boolean {
    return this.#declared.has(name);
  }

  #checkOpen(name: string): void {
    const open = this.#open;
    if (!open || (name !== open.name && !(open.type === 'histogram' && isHistogramSample(name, open.name)))) {
      throw new PrometheusFormatError(`sample "${name}" written outside its family: call family("${name}", ...) first`, name);
    }
  }

  /**
   * One sample of the open family. For histograms pass the full sample
   * name (`_bucket`, `_sum`, `_count`).
   *
   * @throws PrometheusFormatError when the sample does not belong to the open family or a label name is invalid.
   */
  sample(name: string, value: number | bigint, labels?: PrometheusLabels): void {
    this.#checkOpen(name);
    let line = name;
    if (labels && labels.length > 0) {
      line += '{';
      for (let i = 0; i < labels.length; i++) {
        const [k, v] = labels[i]!;
        checkLabelName(k, name);
        line += `${i > 0 ? ',' : ''}${k}="${escapeLabelValue(v)}"`;
      }
      line += '}';
    }
    this.appendLine(`${line} ${formatSampleValue(value)}\n`);
  }

  /**
   * Many samples of the open family with the same label names (at most
   * four), checked once: `add(value, ...labelValues)` in `labelNames`
   * order. For large families (one sample per kernel entry).
   */
  series(name: string, labelNames: readonly string[]): PrometheusSeries {
    this.#checkOpen(name);
    if (labelNames.length > 4)
      throw new PrometheusFormatError(`series() takes at most four labels, got ${labelNames.length} for ${name}`, name);
    for (const k of labelNames) checkLabelName(k, name);
    return new PrometheusSeries(this, name, labelNames);
  }

  /** Append finished sample lines (PrometheusSeries uses it; the lines are built from checked names). */
  appendLine(line: string): void {
    this.#pending += line;
    if (this.#pending.length >= 16 * 1024) this.#flush();
  }

  #flush(): void {
    const text = this.#pending;
    this.#pending = '';
    // UTF-8 needs at most three bytes per UTF-16 unit.
    const need = this.#len + text.length * 3;
    if (need > this.#buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(need, this.#buf.length * 2));
      this.#buf.copy(bigger, 0, 0, this.#len);
      this.#buf = bigger;
    }
    this.#len += this.#buf.write(text, this.#len, 'utf8');
  }

  /** The exposition so far, as bytes (a view of the writer's buffer). */
  bytes(): Buffer {
    this.#flush();
    return this.#buf.subarray(0, this.#len);
  }

  /** The exposition so far, as text. */
  text(): string {
    this.#flush();
    return this.#buf.toString('utf8', 0, this.#len);
  }
}

function isHistogramSample(sample: string, family: string): boolean {
  return sample === `${family}_bucket` || sample === `${family}_sum` || sample === `${family}_count`;
}

/** The samples of one family with fixed label names; see PrometheusTextWriter.series. */
export class PrometheusSeries {
  readonly #writer: PrometheusTextWriter;
  readonly #p0: string;
  readonly #p1: string;
  readonly #p2: string;
  readonly #p3: string;
  readonly #n: number;

  constructor(writer: PrometheusTextWriter, name: string, labelNames: readonly string[]) {
    this.#writer = writer;
    this.#n = labelNames.length;
    const p = labelNames.map((k, i) => `${i === 0 ? `${name}{` : ','}${k}="`);
    this.#p0 = p[0] ?? name;
    this.#p1 = p[1] ?? '';
    this.#p2 = p[2] ?? '';
    this.#p3 = p[3] ?? '';
  }

  /** One sample; pass exactly as many label values as label names. */
  add(value: number | bigint, v0 = '', v1 = '', v2 = '', v3 = ''): void {
    const n = this.#n;
    let line = this.#p0;
    if (n > 0) {
      line += `${escapeLabelValue(v0)}"`;
      if (n > 1) line += `${this.#p1}${escapeLabelValue(v1)}"`;
      if (n > 2) line += `${this.#p2}${escapeLabelValue(v2)}"`;
      if (n > 3) line += `${this.#p3}${escapeLabelValue(v3)}"`;
      line += '}';
    }
    this.#writer.appendLine(`${line} ${formatSampleValue(value)}\n`);
  }
}
