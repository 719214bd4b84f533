import { dirname } from 'node:path';
import type { SocketLike } from '@dnsdist-ts/bpf';
import { InternalSocketFilter } from './internal-socket-filter.js';
import { BpfBusyError, BpfError, BpfMap, BpfMapFullError, PinTransaction } from '@dnsdist-ts/bpf';
import { BPFFilterError } from './bpf-filter-error.js';
import { parseBPFFilterArgs, type BPFFilterOptions, type FilterMapOptions } from './bpf-filter-options.js';
import type { FilterMapHandles } from './filter-map-handles.js';
import { ipv4Key, ipv6Key } from './address-key.js';
import { cidrFromKey, cidrKey } from './cidr-key.js';
import {
  decodeCounterAction,
  decodeLegacyQNameValue,
  encodeCounterAction,
  encodeLegacyCounter,
  encodeLegacyQNameValue,
} from './counter-action-value.js';
import { openFilterMap } from './filter-map-opener.js';
import { ExpiryQueue } from './expiry-queue.js';
import { ExpiryStore } from './expiry-store.js';
import { nowNs, type MonotonicNs } from './monotonic-clock.js';
import { formatName, MapFormat, mapLayout, QTYPE_ANY_1X, type FilterMapKind } from './map-format.js';
import { isMatchAction, MatchAction, matchActionName } from './match-action.js';
import { externalQNameKey, legacyQNameKey, wireFromQNameKey, wireToText } from './qname-key.js';
import { NameIndex } from './name-index.js';
import {
  DNSName,
  DnsNameError,
  Netmask,
  formatAddress as formatBytes,
  parseAddress as parseIp,
  qtypeName,
  type IpAddress,
} from '@dnsdist-ts/dns';

function parseAddress(text: string): IpAddress {
  try {
    return parseIp(text);
  } catch (err) {
    throw new BPFFilterError(`invalid address '${text}': ${(err as Error).message}`, text);
  }
}

function formatAddress(a: IpAddress): string {
  return formatBytes(a.bytes);
}

function parseNetmask(text: string): { family: 4 | 6; bits: number; bytes: Uint8Array; text: string } {
  try {
    const nm = Netmask.fromString(text);
    return { family: nm.family, bits: nm.bits, bytes: nm.network(), text: nm.toString() };
  } catch (err) {
    throw new BPFFilterError(`invalid netmask '${text}': ${(err as Error).message}`, text);
  }
}

/** dnsdist refuses names it cannot encode with "Invalid QName to block". */
function nameToWire(name: string): Buffer {
  try {
    return DNSName.fromString(name).toWire();
  } catch (err) {
    if (err instanceof DnsNameError) throw new BPFFilterError(`Invalid QName to block: ${err.message}`, name);
    throw err;
  }
}

/** The dotted quad of a host-order IPv4 key, without intermediate arrays (listing 100k entries is common). */
function ipv4KeyToText(k: Buffer): string {
  const n = k.readUInt32LE(0);
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** A map key as an ExpiryQueue key: one character per byte. */
function deadlineKey(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

/** One entry of the filter, as `entries()` lists it for metrics and APIs. */
export type BPFFilterEntry =
  | { kind: 'ipv4' | 'ipv6'; address: string; action: MatchAction; counter: bigint }
  | { kind: 'qname'; name: string; qtype: number; action: MatchAction; counter: bigint }
  | { kind: 'cidr4' | 'cidr6'; range: string; action: MatchAction; counter: bigint };

/** Options of the TypeScript API beyond dnsdist's Lua arguments. */
export interface BlockOptions {
  /** CLOCK_MONOTONIC ns at which the entry lapses; absent: permanent. */
  until?: MonotonicNs;
}

/** An expiring entry, as listed for re-arming after a restart. */
export type ExpiringEntry = BPFFilterEntry & { until: MonotonicNs };

interface HeldMap {
  map: BpfMap;
  expiry: ExpiryStore;
  /** The expiry store's deadlines by key (latin1 string of the key bytes), so a purge visits only what lapsed. */
  deadlines: ExpiryQueue<string, MonotonicNs>;
  maxItems: number;
  /** Entries we know of, the soft cap's count (as dnsdist's d_count). */
  count: number;
}

/** A filter map of this process's own, and its expiry store, pinned or planned as `opts` says. */
function openWithExpiry(
  kind: FilterMapKind,
  format: MapFormat,
  opts: FilterMapOptions,
  plan: PinTransaction,
): { map: BpfMap; expiry: ExpiryStore } {
  const { map } = openFilterMap(kind, format, opts, plan);
  try {
    return { map, expiry: ExpiryStore.forMap(map, opts.pinnedPath, plan) };
  } catch (err) {
    map.close();
    throw err;
  }
}

/** Another thread's filter map of `kind` and its expiry map, on fds of our own, checked against `format`'s layout. */
function adoptFilterMap(kind: FilterMapKind, format: MapFormat, shared: FilterMapHandles): { map: BpfMap; expiry: ExpiryStore } {
  const entry = shared.maps.find(([k]) => k === kind);
  if (!entry) throw new BPFFilterError(`the filter to share has no ${kind} map`, kind);
  const map = BpfMap.borrow(entry[1]).duplicate();
  try {
    const layout = mapLayout(format, kind);
    if (!layout || map.type !== layout.type || map.keySize !== layout.keySize || map.valueSize !== layout.valueSize) {
      throw new BPFFilterError(`the ${kind} map to share (fd ${entry[1]}) is not a ${formatName(format)} ${kind} map`, entry[1]);
    }
    return { map, expiry: ExpiryStore.sharing(entry[2], map) };
  } catch (err) {
    map.close();
    throw err;
  }
}

/**
 * dnsdist's BPFFilter: address, qname/qtype and range maps in dnsdist's
 * byte layouts, optionally pinned so that an external XDP program (ours or
 * dnsdist's) enforces them and a restart inherits them.
 */
export class BPFFilter {
  readonly format: MapFormat;
  readonly options: BPFFilterOptions;
  readonly #maps: Partial<Record<FilterMapKind, HeldMap>> = {};
  #closed = false;
  /** Maps are private copies (a configuration check): leave the pinned name index alone too. */
  readonly #dryRun: boolean;
  #socketFilter: InternalSocketFilter | undefined;

  /**
   * Open or create the filter's maps. With `pins`, new maps' pins are only
   * planned there, for the caller to commit with the rest of its
   * configuration (or never, in a dry run). Without, the filter makes its
   * own pins once all its maps are open and checked, and a failure leaves
   * nothing behind: no map, pin or directory of its making.
   */
  constructor(options: BPFFilterOptions, pins?: PinTransaction, shared?: FilterMapHandles) {
    this.options = options;
    this.format = options.external ? MapFormat.WithActions : MapFormat.Legacy;
    const own = pins === undefined && shared === undefined ? new PinTransaction() : undefined;
    const plan = pins ?? own;
    this.#dryRun = plan?.dryRun ?? false;
    try {
      for (const [kind, opts] of Object.entries(options.maps) as Array<
        [FilterMapKind, NonNullable<BPFFilterOptions['maps'][FilterMapKind]>]
      >) {
        const { map, expiry } = shared ? adoptFilterMap(kind, this.format, shared) : openWithExpiry(kind, this.format, opts, plan!);
        const held: HeldMap = { map, expiry, deadlines: new ExpiryQueue(), maxItems: opts.maxItems, count: 0 };
        this.#maps[kind] = held;
        held.count = map.count();
      }
      if (shared && shared.maps.length !== Object.keys(this.#maps).length) {
        throw new BPFFilterError(
          `the filter to share has ${shared.maps.map(([k]) => k).join(', ')} maps, this one ${Object.keys(this.#maps).join(', ')}`,
          shared,
        );
      }
      // Blocks that lapsed while no process was running go now, not never; the rest are queued by deadline.
      // Shared maps are the owner's to purge: it ran this pass when it opened them.
      if (!shared) this.#purgeAll(nowNs());
      own?.commit();
    } catch (err) {
      own?.undo();
      this.close();
      throw err;
    }
  }

  /**
   * The filter another thread of this process opened, over the same kernel
   * maps (see {@link FilterMapHandles}); each fd is duplicated, so this
   * filter's close() leaves the owner's open. No pin is made or planned.
   * Throws BPFFilterError when `options` does not describe those maps.
   */
  static sharing(options: BPFFilterOptions, shared: FilterMapHandles): BPFFilter {
    if (options.external !== shared.external) {
      throw new BPFFilterError(`the filter to share is ${shared.external ? '' : 'not '}external, this one is the other way`, shared);
    }
    return new BPFFilter(options, undefined, shared);
  }

  /** This filter's maps as fds, for another thread of the process to share them (BPFFilter.sharing). */
  handles(): FilterMapHandles {
    return {
      external: this.external,
      maps: (Object.entries(this.#maps) as Array<[FilterMapKind, HeldMap]>).map(([kind, h]) => [kind, h.map.fd, h.expiry.fd] as const),
    };
  }

  /** newBPFFilter(...) with any of its three call forms; `pins` as for the constructor. */
  static fromArgs(args: readonly unknown[], pins?: PinTransaction): BPFFilter {
    return new BPFFilter(parseBPFFilterArgs(args), pins);
  }

  get external(): boolean {
    return this.format === MapFormat.WithActions;
  }

  /** The live map for `kind` (for attaching programs or reading counters). */
  map(kind: FilterMapKind): BpfMap | undefined {
    return this.#maps[kind]?.map;
  }

  /**
   * Block an address. Re-blocking an address that is already blocked
   * updates its action and keeps its counter (dnsdist throws "already
   * blocked", which strands entries left by an earlier run).
   */
  block(address: string | IpAddress, action: number = MatchAction.Drop, opts: BlockOptions = {}): void {
    this.checkAction(action, 'BPFFilter::block');
    const { addr, held, key } = this.addressEntry(address);
    this.upsert(
      held,
      key,
      (counter) => (this.external ? encodeCounterAction(action as MatchAction, counter) : encodeLegacyCounter(counter)),
      formatAddress(addr),
      opts.until,
    );
  }

  unblock(address: string | IpAddress): void {
    const { addr, held, key } = this.addressEntry(address);
    if (!held.map.delete(key))
      throw new BPFFilterError(`Error removing blocked address ${formatAddress(addr)}: No such file or directory`, address);
    this.forget(held, key);
  }

  /** True when the address has an exact entry (any action). */
  isBlocked(address: string | IpAddress): boolean {
    const { held, key } = this.addressEntry(address);
    return held.map.has(key);
  }

  /** The parsed address, the map holding it and its key there. */
  private addressEntry(address: string | IpAddress): { addr: IpAddress; held: HeldMap; key: Buffer } {
    const addr = typeof address === 'string' ? parseAddress(address) : address;
    const held = this.held(addr.family === 4 ? 'ipv4' : 'ipv6');
    return { addr, held, key: addr.family === 4 ? ipv4Key(addr.bytes) : ipv6Key(addr.bytes) };
  }

  /** Block a name for one qtype (default 255, "all types" in dnsdist 1.x). Argument order: qtype, then action. */
  blockQName(name: string, qtype: number = QTYPE_ANY_1X, action: number = MatchAction.Drop, opts: BlockOptions = {}): void {
    this.checkAction(action, 'BPFFilter::blockQName');
    this.checkQType(qtype);
    const wire = nameToWire(name);
    const held = this.held('qnames');
    const key = this.external ? externalQNameKey(wire, qtype) : legacyQNameKey(wire);
    // The XDP filter's name index must know the name before the entry exists, and again after
    // (a concurrent index rebuild may clear the first note): see name-index.ts.
    const indexDir = this.nameIndexDir();
    const lowerWire = key.subarray(0, wire.byteLength);
    NameIndex.note(indexDir, 'qnames', lowerWire);
    this.upsert(
      held,
      key,
      (counter) => (this.external ? encodeCounterAction(action as MatchAction, counter) : encodeLegacyQNameValue(qtype, counter)),
      name,
      opts.until,
    );
    NameIndex.note(indexDir, 'qnames', lowerWire);
  }

  /** Where the XDP filter's name index sits: next to a pinned external qnames map. */
  private nameIndexDir(): string | undefined {
    const path = this.external && !this.#dryRun ? this.options.maps.qnames?.pinnedPath : undefined;
    return path === undefined ? undefined : dirname(path);
  }

  unblockQName(name: string, qtype: number = QTYPE_ANY_1X): void {
    this.checkQType(qtype);
    const wire = nameToWire(name);
    const held = this.held('qnames');
    const key = this.external ? externalQNameKey(wire, qtype) : legacyQNameKey(wire);
    if (!this.external) {
      // A legacy key holds one qtype per name: only remove the one asked for.
      const v = held.map.lookup(key);
      if (!v || decodeLegacyQNameValue(v).qtype !== qtype)
        throw new BPFFilterError(`Error removing qname address ${name}: No such file or directory`, name);
    }
    if (!held.map.delete(key)) throw new BPFFilterError(`Error removing qname address ${name}: No such file or directory`, name);
    this.forget(held, key);
  }

  /**
   * Add a range rule (LPM trie). Refuses rules that change nothing unless
   * `force`: the same action is already set for that exact range, or a Pass
   * for a range that no other rule covers.
   */
  addRangeRule(netmask: string, action: number, force = false, opts: BlockOptions = {}): void {
    this.checkAction(action, 'BPFFilter::addRangeRule');
    const nm = parseNetmask(netmask);
    const held = this.rangeMap(nm.family, netmask);
    const key = cidrKey(nm.bytes, nm.bits);
    const existing = held.map.lookup(key);
    if (!force) {
      if (existing && decodeCounterAction(existing).action === action) {
        throw new BPFFilterError(
          `Range rule ${nm.text} already has action ${matchActionName(action)}; pass force=true to write it anyway`,
          netmask,
        );
      }
      if (!existing && action === MatchAction.Pass) {
        const covering = held.map.lookup(cidrKey(nm.bytes, nm.family === 4 ? 32 : 128));
        if (!covering)
          throw new BPFFilterError(
            `Pass rule for ${nm.text} is useless: no range rule covers it; pass force=true to add it anyway`,
            netmask,
          );
      }
    }
    this.upsert(held, key, (counter) => encodeCounterAction(action as MatchAction, counter), nm.text, opts.until);
  }

  rmRangeRule(netmask: string): void {
    const nm = parseNetmask(netmask);
    const held = this.rangeMap(nm.family, netmask);
    const key = cidrKey(nm.bytes, nm.bits);
    if (!held.map.delete(key)) throw new BPFFilterError(`Cannot remove '${netmask}': No such rule`, netmask);
    this.forget(held, key);
  }

  /** Lines `Drop\t 192.0.2.0/24` and `Truncate\t[2001:db8::/32]`, as dnsdist prints them. */
  lsRangeRule(): string {
    let out = '';
    for (const e of this.entries()) {
      if (e.kind === 'cidr4') out += `${matchActionName(e.action)}\t ${e.range}\n`;
      else if (e.kind === 'cidr6') out += `${matchActionName(e.action)}\t[${e.range}]\n`;
    }
    return out;
  }

  /**
   * dnsdist's text statistics: `a.b.c.d: N`, `[v6]: N`, `name. QTYPE: N`
   * and range rules, every entry included (dnsdist ≤ 2.1 could skip the
   * all-zero key, and 1.7.3 printed qtype 0 for external maps).
   */
  getStats(): string {
    const addrs: string[] = [];
    const names: string[] = [];
    const ranges: string[] = [];
    for (const e of this.entries()) {
      if (e.kind === 'ipv4') addrs.push(`${e.address}: ${e.counter}\n`);
      else if (e.kind === 'ipv6') addrs.push(`[${e.address}]: ${e.counter}\n`);
      else if (e.kind === 'qname') names.push(`${e.name} ${qtypeName(e.qtype)}: ${e.counter}\n`);
      else if (e.kind === 'cidr4' || e.kind === 'cidr6') ranges.push(`${matchActionName(e.action)}\t ${e.range}: ${e.counter}\n`);
    }
    return addrs.join('') + names.join('') + ranges.join('');
  }

  /** Every entry with its action and hit counter, read with batch lookups. */
  entries(): BPFFilterEntry[] {
    const out: BPFFilterEntry[] = [];
    for (const kind of ['ipv4', 'ipv6', 'qnames', 'cidr4', 'cidr6'] as const) {
      const m = this.#maps[kind]?.map;
      if (!m) continue;
      const rows = m.dump();
      if (kind === 'cidr4' || kind === 'cidr6') {
        // The trie's own order is an implementation detail: list ranges by address, then prefix length.
        rows.sort(([a], [b]) => Buffer.compare(a.subarray(4), b.subarray(4)) || a.readUInt32LE(0) - b.readUInt32LE(0));
      }
      for (const [k, v] of rows) out.push(this.describe(kind, k, v));
    }
    return out;
  }

  /** One map row as an entry. */
  private describe(kind: FilterMapKind, k: Buffer, v: Buffer): BPFFilterEntry {
    const action = (this.external ? decodeCounterAction(v).action : MatchAction.Drop) as MatchAction;
    const counter = v.readBigUInt64LE(0);
    switch (kind) {
      case 'ipv4':
        return { kind, address: ipv4KeyToText(k), action, counter };
      case 'ipv6':
        return { kind, address: formatAddress({ family: 6, bytes: Uint8Array.from(k) }), action, counter };
      case 'qnames': {
        const qtype = this.external ? k.readUInt16LE(256) : decodeLegacyQNameValue(v).qtype;
        return { kind: 'qname', name: wireToText(wireFromQNameKey(k)), qtype, action, counter };
      }
      case 'cidr4':
      case 'cidr6': {
        const { bits, addr } = cidrFromKey(k);
        return { kind, range: `${formatAddress({ family: kind === 'cidr4' ? 4 : 6, bytes: addr })}/${bits}`, action, counter };
      }
    }
  }

  /**
   * Internal mode only: attach the socket filter reading this filter's maps
   * to a listening socket (UDP or TCP). External filters are enforced by an
   * XDP program instead, so attaching one is an error.
   */
  attach(sock: SocketLike): void {
    this.socketFilter().attach(sock);
  }

  detach(sock: SocketLike): void {
    this.socketFilter().detach(sock);
  }

  /**
   * Internal mode only: the descriptor of the socket filter program (loaded
   * now if need be), for a worker thread of this process to attach it.
   */
  get socketProgramFd(): number {
    return this.socketFilter().program.fd;
  }

  private socketFilter(): InternalSocketFilter {
    if (this.external) {
      throw new BPFFilterError(
        'this BPFFilter is external: its maps are enforced by an XDP program, there is no socket filter to attach',
        'attach',
      );
    }
    this.#socketFilter ??= new InternalSocketFilter({
      v4: this.held('ipv4').map,
      v6: this.held('ipv6').map,
      qnames: this.held('qnames').map,
    });
    return this.#socketFilter;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socketFilter?.close();
    for (const h of Object.values(this.#maps)) {
      h?.map.close();
      h?.expiry.close();
    }
  }

  private held(kind: FilterMapKind): HeldMap {
    const h = this.#maps[kind];
    if (!h) throw new BPFFilterError(`this BPFFilter has no ${kind} map`, kind);
    return h;
  }

  private rangeMap(family: 4 | 6, input: string): HeldMap {
    if (!this.external)
      throw new BPFFilterError('Trying to use an unsupported map type: range rules need the external format (external=true)', input);
    const kind = family === 4 ? 'cidr4' : 'cidr6';
    const h = this.#maps[kind];
    if (!h) throw new BPFFilterError(`no ${kind} map: set ${kind}MaxItems in newBPFFilter's options to use range rules`, input);
    return h;
  }

  private checkAction(action: number, fn: string): void {
    if (!isMatchAction(action)) throw new BPFFilterError(`Unsupported action for ${fn}`, action);
    if (!this.external && action !== MatchAction.Drop) throw new BPFFilterError(`Unsupported action for ${fn}`, action);
  }

  private checkQType(qtype: number): void {
    if (!Number.isInteger(qtype) || qtype < 0 || qtype > 65535) throw new BPFFilterError(`invalid qtype ${qtype}: must be 0..65535`, qtype);
  }

  /**
   * Insert or refresh an entry, keeping the hit counter of an existing one,
   * and record its expiry (an entry written without one is permanent). A new
   * entry costs one syscall: insert-if-absent, and only on EEXIST read the
   * old counter and rewrite it.
   */
  private upsert(held: HeldMap, key: Buffer, value: (counter: bigint) => Buffer, what: string, until: MonotonicNs | undefined): void {
    try {
      let existed = false;
      if (held.count < held.maxItems) {
        try {
          held.map.update(key, value(0n), 'noexist');
          held.count++;
        } catch (err) {
          if (!(err instanceof BpfBusyError)) throw err;
          existed = true;
        }
      } else {
        existed = held.map.has(key);
        if (!existed) throw new BPFFilterError(`Table full when trying to block ${what}`, what);
      }
      if (existed) {
        const old = held.map.lookup(key);
        held.map.update(key, value(old ? old.readBigUInt64LE(0) : 0n));
      }
      // A new entry has no expiry record to clear (purgeExpired drops orphans).
      if (until !== undefined) {
        held.expiry.set(key, until);
        held.deadlines.schedule(deadlineKey(key), until);
      } else if (existed) {
        held.expiry.delete(key);
        held.deadlines.cancel(deadlineKey(key));
      }
    } catch (err) {
      if (err instanceof BPFFilterError) throw err;
      if (err instanceof BpfMapFullError) throw new BPFFilterError(`Table full when trying to block ${what}`, what);
      if (err instanceof BpfError) throw new BPFFilterError(`Error inserting ${what} into the eBPF map: ${err.message}`, what);
      throw err;
    }
  }

  private forget(held: HeldMap, key: Buffer): void {
    held.expiry.delete(key);
    held.deadlines.cancel(deadlineKey(key));
    held.count = Math.max(0, held.count - 1);
  }

  /**
   * Remove every entry whose expiry has passed (from the kernel map and
   * the expiry store); returns how many entries were removed. Callers run
   * it periodically: it costs O(lapsed), the entries still in force are
   * not looked at. A lapsed entry's record is read again first, so a
   * deadline another process moved (or removed, making the entry
   * permanent) is honoured.
   */
  purgeExpired(now: MonotonicNs = nowNs()): number {
    let removed = 0;
    for (const held of Object.values(this.#maps)) {
      if (!held) continue;
      for (const [k] of held.deadlines.takeExpired(now)) {
        const key = Buffer.from(k, 'latin1');
        const until = held.expiry.get(key);
        if (until === undefined) continue;
        if (until > now) {
          held.deadlines.schedule(k, until);
          continue;
        }
        if (held.map.delete(key)) {
          removed++;
          this.forget(held, key);
        } else {
          held.expiry.delete(key);
        }
      }
    }
    return removed;
  }

  /**
   * The full pass on open: every expiry record is read; lapsed entries
   * and records whose entry is gone are removed, the rest queued by
   * deadline.
   */
  #purgeAll(now: MonotonicNs): void {
    for (const held of Object.values(this.#maps)) {
      if (!held) continue;
      for (const [key, until] of held.expiry.all()) {
        if (!held.map.has(key)) {
          held.expiry.delete(key);
        } else if (until <= now) {
          held.map.delete(key);
          this.forget(held, key);
        } else {
          held.deadlines.schedule(deadlineKey(key), until);
        }
      }
    }
  }

  /** Entries that carry an expiry, with it: what a restart re-arms. */
  expiringEntries(): ExpiringEntry[] {
    const out: ExpiringEntry[] = [];
    for (const [kind, held] of Object.entries(this.#maps) as Array<[FilterMapKind, HeldMap]>) {
      const untils = new Map(held.expiry.all().map(([k, u]) => [k.toString('hex'), u]));
      if (untils.size === 0) continue;
      for (const [k, v] of held.map.dump()) {
        const until = untils.get(k.toString('hex'));
        if (until !== undefined) out.push({ ...this.describe(kind, k, v), until });
      }
    }
    return out;
  }
}
