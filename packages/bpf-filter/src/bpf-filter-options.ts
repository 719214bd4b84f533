import { BPFFilterConfigError } from './bpf-filter-error.js';
import type { FilterMapKind } from './map-format.js';

/** One map's settings. */
export interface FilterMapOptions {
  maxItems: number;
  pinnedPath?: string;
}

/** newBPFFilter's options, whichever call form they came from. */
export interface BPFFilterOptions {
  /** true: the external ("WithActions") format read by an XDP program; false: legacy + internal socket filter. */
  external: boolean;
  maps: Partial<Record<FilterMapKind, FilterMapOptions>>;
}

const TABLE_KEYS: Record<string, [FilterMapKind, 'maxItems' | 'pinnedPath']> = {
  ipv4MaxItems: ['ipv4', 'maxItems'],
  ipv4PinnedPath: ['ipv4', 'pinnedPath'],
  ipv6MaxItems: ['ipv6', 'maxItems'],
  ipv6PinnedPath: ['ipv6', 'pinnedPath'],
  qnamesMaxItems: ['qnames', 'maxItems'],
  qnamesPinnedPath: ['qnames', 'pinnedPath'],
  cidr4MaxItems: ['cidr4', 'maxItems'],
  cidr4PinnedPath: ['cidr4', 'pinnedPath'],
  cidr6MaxItems: ['cidr6', 'maxItems'],
  cidr6PinnedPath: ['cidr6', 'pinnedPath'],
};

const POSITIONAL: FilterMapKind[] = ['ipv4', 'ipv6', 'qnames'];

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

function maxItems(value: unknown, key: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new BPFFilterConfigError(`newBPFFilter: '${key}' must be a non-negative integer, got ${show(value)}`, key, value);
  }
  return value;
}

function pinnedPath(value: unknown, key: string): string {
  if (typeof value !== 'string' || value === '' || !value.startsWith('/')) {
    throw new BPFFilterConfigError(`newBPFFilter: '${key}' must be an absolute path on bpffs, got ${show(value)}`, key, value);
  }
  return value;
}

function external(value: unknown, key: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') {
    throw new BPFFilterConfigError(
      `newBPFFilter: '${key}' must be true or false, got ${show(value)} (note: Lua's booleans are lower-case 'true'/'false')`,
      key,
      value,
    );
  }
  return value;
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'object') return v === null ? 'nil' : Array.isArray(v) ? 'a list' : 'a table';
  return `${typeof v} ${String(v)}`;
}

/** A positional params argument: a number or {maxItems=, pinnedPath=}. */
function positional(value: unknown, kind: FilterMapKind, index: number): FilterMapOptions {
  const where = `argument ${index + 1} (${kind})`;
  if (typeof value === 'number') return { maxItems: maxItems(value, where) };
  if (!isPlainObject(value))
    throw new BPFFilterConfigError(
      `newBPFFilter: ${where} must be a number or {maxItems=N, pinnedPath="..."}, got ${show(value)}`,
      where,
      value,
    );
  const out: FilterMapOptions = { maxItems: 0 };
  for (const [k, v] of Object.entries(value)) {
    if (k === 'maxItems') out.maxItems = maxItems(v, `${where}.maxItems`);
    else if (k === 'pinnedPath') out.pinnedPath = pinnedPath(v, `${where}.pinnedPath`);
    else throw new BPFFilterConfigError(`newBPFFilter: unknown key '${k}' in ${where} (expected maxItems, pinnedPath)`, k, v);
  }
  if (value.maxItems === undefined) throw new BPFFilterConfigError(`newBPFFilter: ${where} needs maxItems`, `${where}.maxItems`);
  return out;
}

/**
 * Normalise newBPFFilter's three call forms:
 * `(maxV4, maxV6, maxQNames)`, `(v4Params, v6Params, qnameParams [, external])`
 * and the 1.8+ options table. Unknown keys and wrong types are errors that
 * name the key: dnsdist silently ignores them (issue #12732).
 */
export function parseBPFFilterArgs(args: readonly unknown[]): BPFFilterOptions {
  if (args.length === 1 && isPlainObject(args[0])) return parseTable(args[0]);
  if (args.length < 3 || args.length > 4) {
    throw new BPFFilterConfigError(
      'newBPFFilter takes (maxV4, maxV6, maxQNames), (v4Params, v6Params, qnameParams [, external]) or one options table',
      'arguments',
      args,
    );
  }
  const maps: BPFFilterOptions['maps'] = {};
  POSITIONAL.forEach((kind, i) => (maps[kind] = positional(args[i], kind, i)));
  const opts: BPFFilterOptions = { external: external(args[3], 'external (argument 4)'), maps };
  validate(opts);
  return opts;
}

function parseTable(t: Record<string, unknown>): BPFFilterOptions {
  const maps: BPFFilterOptions['maps'] = {};
  let ext = false;
  for (const [k, v] of Object.entries(t)) {
    if (k === 'external') {
      ext = external(v, 'external');
      continue;
    }
    const slot = TABLE_KEYS[k];
    if (!slot) {
      throw new BPFFilterConfigError(
        `newBPFFilter: unknown option '${k}' (expected one of ${Object.keys(TABLE_KEYS).join(', ')}, external)`,
        k,
        v,
      );
    }
    const [kind, field] = slot;
    const m = (maps[kind] ??= { maxItems: 0 });
    if (field === 'maxItems') m.maxItems = maxItems(v, k);
    else m.pinnedPath = pinnedPath(v, k);
  }
  const opts: BPFFilterOptions = { external: ext, maps };
  validate(opts);
  return opts;
}

function validate(opts: BPFFilterOptions): void {
  for (const kind of POSITIONAL) {
    const m = opts.maps[kind];
    const key = `${kind === 'qnames' ? 'qnames' : kind}MaxItems`;
    if (!m || m.maxItems === 0) {
      throw new BPFFilterConfigError(
        `newBPFFilter: the ${kind} map needs a size above 0 (${key}); a map of size 0 cannot be created`,
        key,
        m?.maxItems,
      );
    }
  }
  for (const kind of ['cidr4', 'cidr6'] as const) {
    const m = opts.maps[kind];
    if (!m) continue;
    if (!opts.external) {
      throw new BPFFilterConfigError(
        `newBPFFilter: ${kind} maps exist only in the external format: add external=true or remove ${kind}MaxItems/${kind}PinnedPath`,
        `${kind}MaxItems`,
        m.maxItems,
      );
    }
    if (m.maxItems === 0) {
      if (m.pinnedPath)
        throw new BPFFilterConfigError(`newBPFFilter: ${kind}PinnedPath is set but ${kind}MaxItems is 0 or missing`, `${kind}MaxItems`, 0);
      delete opts.maps[kind];
    }
  }
}

/** File names of the maps in a pin directory, as dnsdist's contrib XDP program names them. */
export const CONVENTIONAL_PIN_NAMES: Record<FilterMapKind, string> = {
  ipv4: 'addr-v4',
  ipv6: 'addr-v6',
  qnames: 'qnames',
  cidr4: 'cidr4',
  cidr6: 'cidr6',
};

/**
 * External-format options with every map pinned under `dir` by its
 * conventional name: what an XDP deployment of /sys/fs/bpf/dnsdist uses.
 * `sizes` gives each map's maxItems (a number for all of them).
 */
export function pinnedExternalOptions(dir: string, sizes: number | Record<FilterMapKind, number>): BPFFilterOptions {
  const maps: BPFFilterOptions['maps'] = {};
  for (const [kind, pin] of Object.entries(CONVENTIONAL_PIN_NAMES) as Array<[FilterMapKind, string]>) {
    maps[kind] = { maxItems: typeof sizes === 'number' ? sizes : sizes[kind], pinnedPath: `${dir}/${pin}` };
  }
  const opts: BPFFilterOptions = { external: true, maps };
  validate(opts);
  return opts;
}
