/**
 * Providers over the BPF filter objects of @dnsdist-ts/bpf-filter, so the
 * code that creates a filter (newBPFFilter / setDefaultBPFFilter /
 * newDynBPFFilter) hooks it into `/metrics` and the JSON endpoints with
 * one line:
 *
 * ```ts
 * app.web.providers.kernelCounters.push(bpfFilterKernelCounters(filter));
 * app.web.providers.ebpfBlockList = dynBpfFilterBlockList(() => registeredDynBPFFilters);
 * ```
 *
 * The counters are read in chunks of batch lookups (a resumable dump, so
 * the scrape gives the event loop back between chunks) and decoded in
 * place: a scrape of 100,000 entries must not build 100,000 objects.
 */
import { matchActionName, QNAME_BYTES, type DynBPFFilter, type FilterMapKind } from '@dnsdist-ts/bpf-filter';
import { DNSName, formatAddress } from '@dnsdist-ts/dns';
import type {
  EbpfBlockListProvider,
  KernelCounterProvider,
  KernelFilter,
  KernelCounterVisitor,
  RegisteredFilterBlock,
} from './observability-providers.js';

const ACTIONS = [0, 1, 2].map((a) => matchActionName(a).toLowerCase());

/** The filter members read here. */
export type CountedFilter = KernelFilter;

/** A u64 counter as a number (exact below 2^53 hits, which no counter reaches). */
function counterAt(buf: Buffer, at: number): number {
  return buf.readUInt32LE(at + 4) * 0x1_0000_0000 + buf.readUInt32LE(at);
}

function actionAt(values: Buffer, at: number, external: boolean): string {
  if (!external) return 'drop';
  const a = values[at + 8]!;
  return ACTIONS[a] ?? `unknown(${a})`;
}

/** Entries visited between two steps of a walk. */
const STEP_ENTRIES = 512;
/**
 * Entries read from the kernel per step: one lookup_batch of this many
 * takes about a millisecond on the development VM, where the whole-map
 * dump of 100,000 entries held the event loop for ~30 ms.
 */
const CHUNK_ENTRIES = 4096;

function* walkMap(filter: CountedFilter, kind: FilterMapKind, visit: KernelCounterVisitor): Generator<void, void, void> {
  const map = filter.map(kind);
  if (!map) return;
  const cursor = map.dumpCursor(CHUNK_ENTRIES);
  const ks = map.keySize;
  const vs = map.valueBufferSize;
  const external = filter.external;
  for (let chunk = cursor.next(); chunk; chunk = cursor.next()) {
    yield;
    const { keys, values, count } = chunk;
    for (let i = 0; i < count; i++) {
      if (i % STEP_ENTRIES === STEP_ENTRIES - 1) yield;
      visitEntry(kind, keys, values, i * ks, i * vs, ks, external, visit);
    }
  }
}

/** Decode the entry at key offset `k` and value offset `v` of a packed chunk. */
function visitEntry(
  kind: FilterMapKind,
  keys: Buffer,
  values: Buffer,
  k: number,
  v: number,
  ks: number,
  external: boolean,
  visit: KernelCounterVisitor,
): void {
  const hits = counterAt(values, v);
  const action = actionAt(values, v, external);
  switch (kind) {
    case 'ipv4': {
      // Host-order u32 key (dnsdist's layout).
      const n = keys.readUInt32LE(k);
      visit('address', `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`, action, hits);
      break;
    }
    case 'ipv6':
      visit('address', formatAddress(keys.subarray(k, k + 16)), action, hits);
      break;
    case 'cidr4':
    case 'cidr6': {
      const bits = keys.readUInt32LE(k);
      visit('range', `${formatAddress(keys.subarray(k + 4, k + ks))}/${bits}`, action, hits);
      break;
    }
    case 'qnames': {
      const name = DNSName.fromWire(keys.subarray(k, k + QNAME_BYTES)).name.toString();
      // External keys carry the qtype after the name; legacy values carry it after the counter.
      const qtype = external ? keys.readUInt16LE(k + QNAME_BYTES + 1) : values.readUInt16LE(v + 8);
      visit('name', name, action, hits, qtype);
      break;
    }
  }
}

/** Every entry of a filter's maps, in steps (see KernelCounterProvider.walkKernelCounters). */
export function* walkFilter(filter: CountedFilter, visit: KernelCounterVisitor): Generator<void, void, void> {
  for (const kind of ['ipv4', 'ipv6', 'qnames', 'cidr4', 'cidr6'] as const) yield* walkMap(filter, kind, visit);
}

/** Every entry of a filter's maps with its counter. */
export function bpfFilterKernelCounters(filter: CountedFilter): KernelCounterProvider {
  return {
    visitKernelCounters(visit: KernelCounterVisitor): void {
      const walk = walkFilter(filter, visit);
      while (!walk.next().done);
    },
    walkKernelCounters: (visit) => walkFilter(filter, visit),
    kernelFilters: () => [filter],
  };
}

/** The live entries of registered DynBPFFilters, as `/jsonstat?command=ebpfblocklist` lists them. */
export function dynBpfFilterBlockList(filters: () => Iterable<Pick<DynBPFFilter, 'getAddrStats'>>): EbpfBlockListProvider {
  return {
    registeredFilterBlocks(): RegisteredFilterBlock[] {
      const out: RegisteredFilterBlock[] = [];
      for (const f of filters()) {
        for (const s of f.getAddrStats()) out.push({ address: s.address, blocks: Number(s.blocks), seconds: s.seconds });
      }
      return out;
    },
  };
}
