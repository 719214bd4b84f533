/**
 * A strict parser of the Prometheus text exposition format 0.0.4, written
 * for the tests from the format's specification (no package providing one
 * is installed). Strict mode enforces what the format requires of a
 * producer: one HELP and one TYPE per family, TYPE before the family's
 * samples, every family's samples in one group, no duplicate series,
 * well-formed names, labels and values, and consistent histograms
 * (cumulative buckets, a +Inf bucket equal to _count). Lenient mode only
 * checks the syntax, for reading dnsdist's own output, which interleaves
 * the per-backend families.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface MetricFamily {
  readonly name: string;
  type: MetricType;
  help: string | undefined;
  readonly samples: Sample[];
}

export class PrometheusParseError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly text: string,
  ) {
    super(`line ${line}: ${message}: ${JSON.stringify(text)}`);
    this.name = 'PrometheusParseError';
  }
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function unescape(text: string, allowQuote: boolean, line: number): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = text[++i];
    if (n === '\\') out += '\\';
    else if (n === 'n') out += '\n';
    else if (n === '"' && allowQuote) out += '"';
    else throw new PrometheusParseError(`invalid escape \\${n ?? ''}`, line, text);
  }
  return out;
}

function parseValue(text: string, line: number, raw: string): number {
  if (text === 'NaN') return NaN;
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new PrometheusParseError(`invalid sample value "${text}"`, line, raw);
  return Number(text);
}

/** Parse a sample line into name, labels, value. */
function parseSample(raw: string, line: number): Sample {
  const m = NAME.exec(raw);
  if (!m) throw new PrometheusParseError('invalid metric name', line, raw);
  const name = m[0];
  let rest = raw.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    rest = rest.slice(1);
    for (;;) {
      rest = rest.replace(/^\s+/, '');
      if (rest.startsWith('}')) {
        rest = rest.slice(1);
        break;
      }
      const lm = LABEL.exec(rest);
      if (!lm) throw new PrometheusParseError('invalid label name', line, raw);
      const lname = lm[0];
      rest = rest.slice(lname.length).replace(/^\s+/, '');
      if (!rest.startsWith('="')) throw new PrometheusParseError(`label ${lname} without ="value"`, line, raw);
      rest = rest.slice(2);
      let i = 0;
      while (i < rest.length && rest[i] !== '"') i += rest[i] === '\\' ? 2 : 1;
      if (i >= rest.length) throw new PrometheusParseError('unterminated label value', line, raw);
      if (lname in labels) throw new PrometheusParseError(`label ${lname} given twice`, line, raw);
      labels[lname] = unescape(rest.slice(0, i), true, line);
      rest = rest.slice(i + 1).replace(/^\s+/, '');
      if (rest.startsWith(',')) rest = rest.slice(1);
      else if (!rest.startsWith('}')) throw new PrometheusParseError('expected "," or "}" after a label', line, raw);
    }
  }
  if (!/^[ \t]+/.test(rest)) throw new PrometheusParseError('expected whitespace before the value', line, raw);
  const parts = rest.trim().split(/[ \t]+/);
  if (parts.length > 2) throw new PrometheusParseError('trailing text after value and timestamp', line, raw);
  if (parts.length === 2 && !/^-?\d+$/.test(parts[1]!)) throw new PrometheusParseError('invalid timestamp', line, raw);
  return { name, labels, value: parseValue(parts[0]!, line, raw) };
}

function seriesKey(s: Sample): string {
  return `${s.name}{${Object.keys(s.labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(s.labels[k])}`)
    .join(',')}}`;
}

/** Parse an exposition. Throws PrometheusParseError on the first violation. */
export function parsePrometheusText(text: string, opts: { strict?: boolean } = {}): Map<string, MetricFamily> {
  const strict = opts.strict ?? true;
  const families = new Map<string, MetricFamily>();
  const closed = new Set<string>();
  const series = new Set<string>();
  let current: string | undefined;
  const family = (name: string): MetricFamily => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, type: 'untyped', help: undefined, samples: [] }));
    return f;
  };
  const enter = (name: string, lineNo: number, raw: string): void => {
    if (current === name) return;
    if (current !== undefined) closed.add(current);
    if (strict && closed.has(name)) throw new PrometheusParseError(`family ${name} is not in one group`, lineNo, raw);
    current = name;
  };
  if (text.length > 0 && !text.endsWith('\n')) throw new PrometheusParseError('the exposition must end with a newline', 0, text.slice(-40));
  const lines = text.split('\n');
  lines.pop();
  lines.forEach((raw, idx) => {
    const lineNo = idx + 1;
    if (raw.trim() === '') return;
    if (raw.startsWith('#')) {
      const m = /^#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(raw);
      if (!m) return; // a plain comment
      const [, kind, name, rest] = m as unknown as [string, string, string, string | undefined];
      if (!NAME.test(name) || NAME.exec(name)![0] !== name) throw new PrometheusParseError('invalid metric name in ' + kind, lineNo, raw);
      const f = family(name);
      enter(name, lineNo, raw);
      if (kind === 'HELP') {
        if (strict && f.help !== undefined) throw new PrometheusParseError(`second HELP for ${name}`, lineNo, raw);
        f.help = unescape(rest ?? '', false, lineNo);
      } else {
        const type = (rest ?? '').trim();
        if (!TYPES.has(type)) throw new PrometheusParseError(`unknown type "${type}"`, lineNo, raw);
        if (strict && (f.type !== 'untyped' || f.samples.length > 0)) {
          throw new PrometheusParseError(`TYPE for ${name} after its samples or a second time`, lineNo, raw);
        }
        f.type = type as MetricType;
      }
      return;
    }
    const s = parseSample(raw, lineNo);
    let owner = s.name;
    for (const suffix of ['_bucket', '_sum', '_count']) {
      const base = s.name.slice(0, -suffix.length);
      if (s.name.endsWith(suffix) && (families.get(base)?.type === 'histogram' || families.get(base)?.type === 'summary')) owner = base;
    }
    const f = family(owner);
    enter(owner, lineNo, raw);
    const key = seriesKey(s);
    if (strict && series.has(key)) throw new PrometheusParseError(`duplicate series ${key}`, lineNo, raw);
    series.add(key);
    if (strict && f.type === 'histogram' && s.name.endsWith('_bucket') && s.labels.le === undefined) {
      throw new PrometheusParseError('histogram bucket without le', lineNo, raw);
    }
    if (strict && f.type === 'counter' && !(s.value >= 0)) throw new PrometheusParseError('negative or NaN counter', lineNo, raw);
    f.samples.push(s);
  });
  if (strict) for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

function checkHistogram(f: MetricFamily): void {
  const groups = new Map<string, Sample[]>();
  for (const s of f.samples) {
    const { le: _le, ...rest } = s.labels;
    const k = JSON.stringify(Object.entries(rest).sort());
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(s);
  }
  for (const g of groups.values()) {
    const buckets = g.filter((s) => s.name.endsWith('_bucket'));
    let prev = -Infinity;
    let prevCount = 0;
    for (const b of buckets) {
      const le = b.labels.le === '+Inf' ? Infinity : Number(b.labels.le);
      if (!(le > prev)) throw new PrometheusParseError(`histogram ${f.name}: buckets not in increasing le order`, 0, b.labels.le ?? '');
      if (b.value < prevCount) throw new PrometheusParseError(`histogram ${f.name}: buckets not cumulative`, 0, b.labels.le ?? '');
      prev = le;
      prevCount = b.value;
    }
    const count = g.find((s) => s.name.endsWith('_count'));
    if (buckets.length > 0) {
      if (prev !== Infinity) throw new PrometheusParseError(`histogram ${f.name}: no +Inf bucket`, 0, f.name);
      if (!count || count.value !== prevCount)
        throw new PrometheusParseError(`histogram ${f.name}: _count differs from the +Inf bucket`, 0, f.name);
    }
  }
}

/** Family name → label names used by its samples (without `le`), sorted. */
export function labelNamesByFamily(families: Map<string, MetricFamily>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const f of families.values()) {
    const names = new Set<string>();
    for (const s of f.samples) for (const k of Object.keys(s.labels)) if (k !== 'le') names.add(k);
    out.set(f.name, [...names].sort());
  }
  return out;
}
