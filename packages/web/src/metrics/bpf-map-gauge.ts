/**
 * User-declared metrics over the value bytes of any pinned BPF map, in
 * the spirit of CoreDNS's ebpf plugin (`metric NAME KEY POS LEN "HELP"`):
 * the configuration names a map, a key, and a byte range of the value;
 * every scrape looks the key up and reports those bytes as an unsigned
 * integer. Per-CPU maps are summed over CPUs.
 *
 * ```lua
 * addBPFMapGauge{name="xdp_dropped_by_address", help="Packets XDP dropped by address",
 *                path="/sys/fs/bpf/dnsdist/xdpstats", key=3, offset=0, length=8, type="counter"}
 * ```
 *
 * The map is opened at scrape time, so it may be created (or re-pinned)
 * after the configuration ran.
 */
import { BpfMap, isPerCpu, perCpuValueStride } from '@dnsdist-ts/bpf';
import { isLabelName, isMetricName, type PrometheusLabels } from './prometheus-text-writer.js';

/** One declared gauge (one sample; several with the same name and other labels form one family). */
export interface BpfMapGaugeSpec {
  readonly name: string;
  readonly help: string;
  /** Pinned map path on bpffs. */
  readonly path: string;
  /** The key's bytes. */
  readonly key: Uint8Array;
  /** First byte of the value to read. */
  readonly offset: number;
  /** Bytes to read, 1 to 8, as an unsigned integer. */
  readonly length: number;
  readonly byteOrder: 'little' | 'big';
  readonly type: 'gauge' | 'counter';
  readonly labels: PrometheusLabels;
}

/** A gauge declaration that cannot work; `input` is the offending value. */
export class BpfMapGaugeError extends Error {
  readonly input: unknown;
  constructor(message: string, input: unknown) {
    super(message);
    this.name = new.target.name;
    this.input = input;
  }
}

/**
 * The key from its configuration form: an integer (a u32 in host order,
 * the key of array maps) or hex bytes, optionally separated by dots,
 * spaces or colons for legibility ("0a000001", "0a.00.00.01").
 *
 * @throws BpfMapGaugeError for anything else.
 */
export function parseGaugeKey(key: number | string): Uint8Array {
  if (typeof key === 'number') {
    if (!Number.isInteger(key) || key < 0 || key > 0xffffffff) {
      throw new BpfMapGaugeError(`addBPFMapGauge: a numeric key must be a u32 (0 to 4294967295), got ${key}`, key);
    }
    const b = Buffer.alloc(4);
    b.writeUInt32LE(key);
    return b;
  }
  const hex = key.replace(/[.\s:]/g, '');
  if (hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(hex)) {
    throw new BpfMapGaugeError(`addBPFMapGauge: key "${key}" must be hex bytes (e.g. "0a000001" or "0a.00.00.01") or an integer`, key);
  }
  return Buffer.from(hex, 'hex');
}

/** Check a declaration before it is registered. */
export function validateGaugeSpec(spec: BpfMapGaugeSpec): void {
  if (!isMetricName(spec.name)) {
    throw new BpfMapGaugeError(
      `addBPFMapGauge: "${spec.name}" is not a valid Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)`,
      spec.name,
    );
  }
  if (spec.name.startsWith('dnsdist_')) {
    throw new BpfMapGaugeError(
      `addBPFMapGauge: the prefix dnsdist_ (dnsdist's families and ours, dnsdist_ts_) is reserved for built-in metrics, rename "${spec.name}"`,
      spec.name,
    );
  }
  if (!Number.isInteger(spec.length) || spec.length < 1 || spec.length > 8) {
    throw new BpfMapGaugeError(`addBPFMapGauge: length must be 1 to 8 bytes, got ${spec.length}`, spec.length);
  }
  if (!Number.isInteger(spec.offset) || spec.offset < 0) {
    throw new BpfMapGaugeError(`addBPFMapGauge: offset must be a byte offset (0 or more), got ${spec.offset}`, spec.offset);
  }
  if (!spec.path.startsWith('/')) {
    throw new BpfMapGaugeError(`addBPFMapGauge: path must be the absolute path of a pinned map, got "${spec.path}"`, spec.path);
  }
  for (const [k] of spec.labels) {
    if (!isLabelName(k)) throw new BpfMapGaugeError(`addBPFMapGauge: "${k}" is not a valid label name`, k);
  }
}

/** Read `length` bytes at `offset` of one value as an unsigned integer. */
function readUnsigned(value: Buffer, at: number, length: number, order: 'little' | 'big'): bigint {
  let n = 0n;
  for (let i = 0; i < length; i++) {
    const byte = BigInt(value[order === 'little' ? at + length - 1 - i : at + i]!);
    n = (n << 8n) | byte;
  }
  return n;
}

/**
 * Read one gauge now. Returns undefined when the key is absent.
 *
 * @throws BpfMapGaugeError when the key or byte range does not fit the map; BpfError when the map cannot be opened.
 */
export function readGauge(spec: BpfMapGaugeSpec): bigint | undefined {
  const map = BpfMap.openPinned(spec.path);
  try {
    if (spec.key.byteLength !== map.keySize) {
      throw new BpfMapGaugeError(
        `addBPFMapGauge ${spec.name}: the key has ${spec.key.byteLength} bytes but ${spec.path} has ${map.keySize}-byte keys`,
        spec.key,
      );
    }
    if (spec.offset + spec.length > map.valueSize) {
      throw new BpfMapGaugeError(
        `addBPFMapGauge ${spec.name}: bytes ${spec.offset}..${spec.offset + spec.length - 1} lie outside the ${map.valueSize}-byte values of ${spec.path}`,
        spec.offset,
      );
    }
    const value = map.lookup(spec.key);
    if (!value) return undefined;
    if (!isPerCpu(map.type)) return readUnsigned(value, spec.offset, spec.length, spec.byteOrder);
    const stride = perCpuValueStride(map.valueSize);
    let sum = 0n;
    for (let at = 0; at + stride <= value.byteLength; at += stride)
      sum += readUnsigned(value, at + spec.offset, spec.length, spec.byteOrder);
    return sum;
  } finally {
    map.close();
  }
}
