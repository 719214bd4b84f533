import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  cidrKey,
  decodeCounterAction,
  ExpiryQueue,
  ExpiryStore,
  ipv4Key,
  ipv6Key,
  MatchAction,
  matchActionName,
  nowNs,
  type BPFFilter,
  type ExpiringEntry,
  type FilterMapKind,
  type MonotonicNs,
} from '@dnsdist-ts/bpf-filter';
import { FILTER_MAPS, SUFFIX_VALUE_BYTES, SuffixMap, suffixKey } from '@dnsdist-ts/xdp-filter';
import { DNSName, formatAddress, Netmask, parseAddress, type IpAddress } from '@dnsdist-ts/dns';
import type { KernelBlockInventory } from '@dnsdist-ts/dynblocks/dynblocks/kernel-block-inventory.js';
import type { KernelBlock, KernelBlockAction, KernelBlockSink } from '@dnsdist-ts/dynblocks/dynblocks/kernel-block-sink.js';
import { classifyInsertError, type KernelInsertFailureLog, type KernelInsertFailureReason } from './kernel-insert-failure-log.js';
import { monotonicNsFromPerformance, performanceFromMonotonicNs } from './monotonic-deadline.js';

const MATCH_ACTION: Record<KernelBlockAction, MatchAction> = {
  drop: MatchAction.Drop,
  truncate: MatchAction.Truncate,
  pass: MatchAction.Pass,
};

const KERNEL_ACTION: Record<number, KernelBlockAction> = { 0: 'pass', 1: 'drop', 2: 'truncate' };

/** The suffix map's pin path: beside the filter's own pinned maps, under the xdp-filter's name. */
function suffixPinPath(filter: BPFFilter): string | undefined {
  if (!filter.external) return undefined;
  const m = filter.options.maps;
  const pinned = m.qnames?.pinnedPath ?? m.ipv4?.pinnedPath ?? m.ipv6?.pinnedPath;
  return pinned === undefined ? undefined : join(dirname(pinned), FILTER_MAPS.suffixfilter!.pin);
}

function ipOf(bytes: Uint8Array): IpAddress {
  if (bytes.length === 4) return { family: 4, bytes };
  if (bytes.length === 16) return { family: 6, bytes };
  throw new RangeError(`a blocked address has 4 or 16 bytes, got ${bytes.length}`);
}

/** A range as BPFFilter takes it: the masked network and its text. */
function rangeOf(network: Uint8Array, prefix: number): { family: 4 | 6; text: string; key: Buffer } {
  const nm = Netmask.fromString(`${formatAddress(ipOf(network).bytes)}/${prefix}`);
  return { family: nm.family, text: nm.toString(), key: cidrKey(nm.network(), nm.bits) };
}

function describe(block: KernelBlock): string {
  switch (block.kind) {
    case 'address':
      return block.address.length === 4 || block.address.length === 16 ? formatAddress(block.address) : 'an invalid address';
    case 'range':
      return `${block.network.length === 4 || block.network.length === 16 ? formatAddress(block.network) : '?'}/${block.prefix}`;
    case 'suffix':
      return `*.${block.name.toString()}`;
  }
}

/** A map whose values start with a u64 hit counter. */
type CounterMap = { lookupInto(k: Uint8Array, out: Uint8Array): boolean };

/** The open suffix map with its expiry records. */
interface SuffixMaps {
  map: SuffixMap;
  expiry: ExpiryStore;
}

/**
 * The KernelBlockSink over one BPFFilter (the default filter): address
 * blocks go to the v4/v6 maps, ranges to cidr4/cidr6, suffixes to the
 * xdp-filter's suffix map pinned beside the filter's maps. Every entry the
 * sink writes carries its deadline in the filter's expiry store, so a
 * restarted proxy inherits it with its remaining time, or removes it when
 * it lapsed meanwhile.
 *
 * The sink only ever removes entries it wrote (or inherited with a
 * deadline): a permanent entry for the same key — a manual `bpf:block`, or
 * one written by dnsdist — is left alone.
 */
export class BpfFilterKernelSink implements KernelBlockSink, KernelBlockInventory {
  readonly filter: BPFFilter;
  readonly #failures: KernelInsertFailureLog;
  readonly #warn: (line: string) => void;
  /** Entries this sink is responsible for ("kind:key hex"), by deadline: a purge visits only the lapsed ones. */
  readonly #owned = new ExpiryQueue<string, MonotonicNs>();
  /** Where each kernel copy's hit counter is (its map and key), worked out once per copy. */
  readonly #counterKeys = new WeakMap<KernelBlock, { map: CounterMap; key: Buffer }>();
  readonly #inherited: KernelBlock[] = [];
  readonly #suffixPath: string | undefined;
  #suffixes: SuffixMaps | undefined;
  #suffixError: string | undefined;
  /** Value buffer for counter reads, large enough for every map's value. */
  readonly #value = Buffer.alloc(SUFFIX_VALUE_BYTES);
  #closed = false;

  /**
   * @param failures where refused insertions are counted and logged.
   * @param warn for problems that are not insertions (a removal the kernel refused).
   */
  constructor(filter: BPFFilter, failures: KernelInsertFailureLog, warn: (line: string) => void) {
    this.filter = filter;
    this.#failures = failures;
    this.#warn = warn;
    this.#suffixPath = suffixPinPath(filter);
    // The filter purged what lapsed while no process ran; what is left is live and ours.
    const now = nowNs();
    for (const e of filter.expiringEntries()) {
      if (e.until > now) this.#inherit(e);
    }
    const s = this.#suffixMaps();
    if (s) {
      this.#purgeSuffixes(s, now);
      for (const [key, until] of s.expiry.all()) {
        const v = s.map.map.lookup(key);
        if (!v) continue;
        this.#owned.schedule(`suffix:${key.toString('hex')}`, until);
        const name = DNSName.fromWire(v, 16).name;
        this.#inherited.push({ kind: 'suffix', name, action: KERNEL_ACTION[v[8]!] ?? 'drop', until: performanceFromMonotonicNs(until) });
      }
    }
  }

  #inherit(e: ExpiringEntry): void {
    const until = performanceFromMonotonicNs(e.until);
    const action = KERNEL_ACTION[e.action] ?? 'drop';
    if (e.kind === 'ipv4' || e.kind === 'ipv6') {
      const address = parseAddress(e.address).bytes;
      this.#owned.schedule(this.#addressKey(address).owned, e.until);
      this.#inherited.push({ kind: 'address', address, action, until });
    } else if (e.kind === 'cidr4' || e.kind === 'cidr6') {
      const nm = Netmask.fromString(e.range);
      this.#owned.schedule(`${e.kind}:${cidrKey(nm.network(), nm.bits).toString('hex')}`, e.until);
      this.#inherited.push({ kind: 'range', network: nm.network(), prefix: nm.bits, action, until });
    }
  }

  /**
   * Timed entries a previous process left in the maps that are still
   * live, with `until` on this process's performance.now() clock: the
   * engine adopts them as dynamic blocks. (They are removed at expiry by
   * purgeExpired regardless.)
   */
  liveBlocks(): readonly KernelBlock[] {
    const now = performance.now();
    return this.#inherited.filter((b) => b.until > now);
  }

  supports(kind: KernelBlock['kind'], action: KernelBlockAction): boolean {
    return this.#unsupported(kind, action) === undefined;
  }

  /** Why the kernel cannot take this kind with this action, or undefined when it can. */
  #unsupported(kind: KernelBlock['kind'], action: KernelBlockAction): [KernelInsertFailureReason, string] | undefined {
    if (this.#closed) return ['missing-map', 'the default BPF filter was replaced or closed'];
    const external = this.filter.external;
    switch (kind) {
      case 'address':
        if (external || action === 'drop') return undefined;
        return [
          'unsupported',
          `the default BPF filter uses the legacy format, which only drops (${action} needs newBPFFilter(..., true), read by an XDP program)`,
        ];
      case 'range':
        if (!external) return ['unsupported', 'the legacy format has no range maps (ranges need newBPFFilter{..., external=true})'];
        if (this.filter.map('cidr4') || this.filter.map('cidr6')) return undefined;
        return ['missing-map', 'the default BPF filter has no cidr4/cidr6 maps: set cidr4MaxItems and cidr6MaxItems in newBPFFilter{...}'];
      case 'suffix':
        if (!external) return ['unsupported', 'suffix blocks are enforced by the XDP filter, which reads the external format'];
        if (this.#suffixMaps()) return undefined;
        return ['missing-map', this.#suffixError ?? 'no suffix map'];
    }
  }

  insert(block: KernelBlock): boolean {
    const why = this.#unsupported(block.kind, block.action);
    if (why) {
      this.#failures.record(why[0], describe(block), why[1]);
      return false;
    }
    try {
      const until = monotonicNsFromPerformance(block.until);
      const action = MATCH_ACTION[block.action];
      switch (block.kind) {
        case 'address': {
          const k = this.#addressKey(block.address);
          if (!this.#owned.has(k.owned)) {
            const existing = this.filter.map(k.kind)!.lookup(k.key);
            if (existing) return this.#permanentEnforces(existing, block);
          }
          this.filter.block(k.ip, action, { until });
          this.#owned.schedule(k.owned, until);
          return true;
        }
        case 'range': {
          const r = rangeOf(block.network, block.prefix);
          const kind = r.family === 4 ? 'cidr4' : 'cidr6';
          const map = this.filter.map(kind);
          if (!map) {
            this.#failures.record(
              'missing-map',
              r.text,
              `the default BPF filter has no ${kind} map: set ${kind}MaxItems in newBPFFilter{...}`,
            );
            return false;
          }
          const owned = `${kind}:${r.key.toString('hex')}`;
          if (!this.#owned.has(owned)) {
            const existing = map.lookup(r.key);
            if (existing) return this.#permanentEnforces(existing, block);
          }
          this.filter.addRangeRule(r.text, action, true, { until });
          this.#owned.schedule(owned, until);
          return true;
        }
        case 'suffix': {
          const s = this.#suffixes!;
          const key = suffixKey(block.name.toWireLowerCase());
          const owned = `suffix:${key.toString('hex')}`;
          if (!this.#owned.has(owned)) {
            const existing = s.map.map.lookup(key);
            if (existing) return this.#permanentEnforces(existing, block);
          }
          // Deadline first: a crash between the two leaves an orphan record (purged), never a permanent block.
          s.expiry.set(key, until);
          s.map.block(block.name, action);
          this.#owned.schedule(owned, until);
          return true;
        }
      }
    } catch (err) {
      this.#failures.record(classifyInsertError(err), describe(block), (err as Error).message);
      return false;
    }
  }

  /**
   * A key that exists without being ours is permanent (manual, or written
   * by another program): it is never taken over. It counts as enforcing the
   * block when it has the same action.
   */
  #permanentEnforces(existing: Buffer, block: KernelBlock): boolean {
    const action = block.kind === 'suffix' ? existing[8]! : this.filter.external ? decodeCounterAction(existing).action : MatchAction.Drop;
    if (action === MATCH_ACTION[block.action]) return true;
    this.#failures.record(
      'permanent-entry',
      describe(block),
      `a permanent entry with action ${matchActionName(action)} (bpf:block, or written by another program) is in the way; it is left as it is`,
    );
    return false;
  }

  remove(block: KernelBlock): void {
    if (this.#closed) return;
    try {
      switch (block.kind) {
        case 'address': {
          const k = this.#addressKey(block.address);
          if (!this.#owned.cancel(k.owned)) return;
          if (this.filter.isBlocked(k.ip)) this.filter.unblock(k.ip);
          return;
        }
        case 'range': {
          const r = rangeOf(block.network, block.prefix);
          const kind = r.family === 4 ? 'cidr4' : 'cidr6';
          if (!this.#owned.cancel(`${kind}:${r.key.toString('hex')}`)) return;
          if (this.filter.map(kind)?.has(r.key)) this.filter.rmRangeRule(r.text);
          return;
        }
        case 'suffix': {
          const key = suffixKey(block.name.toWireLowerCase());
          if (!this.#owned.cancel(`suffix:${key.toString('hex')}`)) return;
          const s = this.#suffixes;
          s?.map.map.delete(key);
          s?.expiry.delete(key);
          return;
        }
      }
    } catch (err) {
      this.#warn(`Unable to remove the eBPF dynamic block for ${describe(block)}: ${(err as Error).message}`);
    }
  }

  hits(block: KernelBlock): number {
    if (this.#closed) return 0;
    try {
      let at = this.#counterKeys.get(block);
      if (at === undefined) {
        at = this.#counterKey(block);
        if (at === undefined) return 0;
        this.#counterKeys.set(block, at);
      }
      if (!at.map.lookupInto(at.key, this.#value)) return 0;
      // Two 32-bit halves rather than readBigUInt64LE: no BigInt per read (100,000 reads per fold pass).
      const v = this.#value;
      return v.readUInt32LE(0) + v.readUInt32LE(4) * 0x1_0000_0000;
    } catch {
      return 0;
    }
  }

  /** The map and key holding a copy's counter (read once a second for every copy: worked out once). */
  #counterKey(block: KernelBlock): { map: CounterMap; key: Buffer } | undefined {
    let map: CounterMap | undefined;
    let key: Buffer;
    switch (block.kind) {
      case 'address': {
        const k = this.#addressKey(block.address);
        map = this.filter.map(k.kind);
        key = k.key;
        break;
      }
      case 'range': {
        const r = rangeOf(block.network, block.prefix);
        map = this.filter.map(r.family === 4 ? 'cidr4' : 'cidr6');
        key = r.key;
        break;
      }
      case 'suffix':
        map = this.#suffixes?.map.map;
        key = suffixKey(block.name.toWireLowerCase());
        break;
    }
    return map === undefined ? undefined : { map, key };
  }

  /**
   * A manual change through the filter's own API (Lua `bpf:block`,
   * `bpf:unblock`, …) makes the key the user's: the sink no longer removes
   * it at the end of a dynamic block.
   */
  disownAddress(address: IpAddress): void {
    this.#owned.cancel(this.#addressKey(address.bytes).owned);
  }

  /** As disownAddress, for a range rule ("192.0.2.0/24"). */
  disownRange(range: string): void {
    const nm = Netmask.fromString(range);
    this.#owned.cancel(`${nm.family === 4 ? 'cidr4' : 'cidr6'}:${cidrKey(nm.network(), nm.bits).toString('hex')}`);
  }

  /**
   * Remove every lapsed timed entry: the filter's (its expiry store) and
   * the suffix map's. The engine removes its blocks at expiry itself; this
   * catches the rest (inherited entries, an engine that stopped). Costs
   * O(lapsed): both sides take them from deadline queues.
   */
  purgeExpired(now: MonotonicNs = nowNs()): number {
    if (this.#closed) return 0;
    let removed = 0;
    const s = this.#suffixes;
    for (const [owned] of this.#owned.takeExpired(now)) {
      // Addresses and ranges are the filter's to remove (its own deadline queue, below).
      if (s === undefined || !owned.startsWith('suffix:')) continue;
      const key = Buffer.from(owned.slice('suffix:'.length), 'hex');
      const until = s.expiry.get(key);
      if (until !== undefined && until > now) {
        this.#owned.schedule(owned, until);
        continue;
      }
      if (s.map.map.delete(key)) removed++;
      s.expiry.delete(key);
    }
    return removed + this.filter.purgeExpired(now);
  }

  /** On open: every suffix expiry record is read, and lapsed entries and orphan records removed. */
  #purgeSuffixes(s: SuffixMaps, now: MonotonicNs): number {
    let removed = 0;
    for (const [key, until] of s.expiry.all()) {
      if (until > now && s.map.map.has(key)) continue;
      if (s.map.map.delete(key)) removed++;
      s.expiry.delete(key);
    }
    return removed;
  }

  #addressKey(bytes: Uint8Array): { ip: IpAddress; kind: FilterMapKind; key: Buffer; owned: string } {
    const ip = ipOf(bytes);
    const kind = ip.family === 4 ? 'ipv4' : 'ipv6';
    const key = ip.family === 4 ? ipv4Key(bytes) : ipv6Key(bytes);
    return { ip, kind, key, owned: `${kind}:${key.toString('hex')}` };
  }

  /** The suffix map once it exists (the XDP filter's loader creates it), opened on first need. */
  #suffixMaps(): SuffixMaps | undefined {
    if (this.#suffixes || this.#closed) return this.#suffixes;
    const path = this.#suffixPath;
    if (path === undefined) {
      this.#suffixError = 'the default BPF filter is not pinned, so no XDP filter reads it: pin its maps in one directory';
      return undefined;
    }
    if (!existsSync(path)) {
      this.#suffixError = `no suffix map at ${path}: attachXDPFilter (or 'xdp-filter attach --pin-dir ${dirname(path)}') creates it`;
      return undefined;
    }
    let map: SuffixMap | undefined;
    try {
      map = SuffixMap.openPinned(path);
      this.#suffixes = { map, expiry: ExpiryStore.forMap(map.map, path) };
      this.#suffixError = undefined;
    } catch (err) {
      map?.close();
      this.#suffixError = `the suffix map at ${path} cannot be used: ${(err as Error).message}`;
    }
    return this.#suffixes;
  }

  /**
   * Stop: later calls change nothing (the entries stay in the maps), and
   * the suffix map handles are released (the filter belongs to whoever
   * created it).
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#suffixes?.map.close();
    this.#suffixes?.expiry.close();
    this.#suffixes = undefined;
  }
}
