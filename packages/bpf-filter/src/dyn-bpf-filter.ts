import { NetmaskGroup, parseAddress, formatAddress, type IpAddress } from '@dnsdist-ts/dns';
import type { BPFFilter } from './bpf-filter.js';
import { BPFFilterError } from './bpf-filter-error.js';
import { ExpiryQueue } from './expiry-queue.js';
import { MatchAction } from './match-action.js';
import { nowNs, secondsFromNow, secondsLeft, type MonotonicNs } from './monotonic-clock.js';

/** What `getAddrStats()` lists: live entries with their remaining time. */
export interface DynBPFFilterStat {
  address: string;
  /** Hits counted by the kernel for this entry. */
  blocks: bigint;
  seconds: number;
}

/**
 * dnsdist's DynBPFFilter: expiring address blocks (always Drop) on top of a
 * BPFFilter, with ranges that are never blocked. Expiries are stored with
 * the filter's maps, so a restarted process takes over the blocks of the
 * previous one with their remaining time, and lapsed ones are removed.
 */
export class DynBPFFilter {
  readonly filter: BPFFilter;
  readonly #until = new Map<string, { addr: IpAddress; until: MonotonicNs }>();
  /** The same addresses by deadline: purgeExpired (often called every second) visits only the lapsed ones. */
  readonly #deadlines = new ExpiryQueue<string, MonotonicNs>();
  readonly #excluded = new NetmaskGroup();

  constructor(filter: BPFFilter) {
    this.filter = filter;
    // Re-arm what a previous process left: the filter purged lapsed entries on open.
    for (const e of filter.expiringEntries()) {
      if (e.kind !== 'ipv4' && e.kind !== 'ipv6') continue;
      this.#until.set(e.address, { addr: parseAddress(e.address), until: e.until });
      this.#deadlines.schedule(e.address, e.until);
    }
  }

  /**
   * Block `address` for `seconds` (default 10). Excluded addresses are left
   * alone; an address already blocked only has its expiry extended when the
   * new one is later. Returns whether a new block was inserted.
   */
  block(address: string, seconds = 10, now: MonotonicNs = nowNs()): boolean {
    const addr = this.parse(address);
    if (this.#excluded.match(addr.bytes)) return false;
    const text = formatAddress(addr.bytes);
    const until = secondsFromNow(seconds, now);
    const known = this.#until.get(text);
    if (known && known.until > now) {
      if (until > known.until) {
        this.filter.block(addr, MatchAction.Drop, { until });
        known.until = until;
        this.#deadlines.schedule(text, until);
      }
      return false;
    }
    this.filter.block(addr, MatchAction.Drop, { until });
    this.#until.set(text, { addr, until });
    this.#deadlines.schedule(text, until);
    return true;
  }

  /** Remove lapsed blocks from the kernel (dnsdist leaves this to the user's maintenance()). */
  purgeExpired(now: MonotonicNs = nowNs()): void {
    for (const [text] of this.#deadlines.takeExpired(now)) {
      const e = this.#until.get(text);
      if (e === undefined) continue;
      this.#until.delete(text);
      if (this.filter.isBlocked(e.addr)) this.filter.unblock(e.addr);
    }
  }

  /** Ranges never to block (most specific of exclude/include wins). */
  excludeRange(ranges: string | string[]): void {
    for (const r of typeof ranges === 'string' ? [ranges] : ranges) this.#excluded.addMask(r);
  }

  /** Ranges to block again inside an excluded one. */
  includeRange(ranges: string | string[]): void {
    for (const r of typeof ranges === 'string' ? [ranges] : ranges) this.#excluded.addMask(`!${r}`);
  }

  /** Live blocks present both in the kernel and here, as the web UI lists them. */
  getAddrStats(now: MonotonicNs = nowNs()): DynBPFFilterStat[] {
    const counters = new Map<string, bigint>();
    for (const e of this.filter.entries()) if (e.kind === 'ipv4' || e.kind === 'ipv6') counters.set(e.address, e.counter);
    const out: DynBPFFilterStat[] = [];
    for (const [text, e] of this.#until) {
      const blocks = counters.get(text);
      if (blocks !== undefined && e.until > now) out.push({ address: text, blocks, seconds: secondsLeft(e.until, now) });
    }
    return out;
  }

  private parse(address: string): IpAddress {
    try {
      return parseAddress(address);
    } catch (err) {
      throw new BPFFilterError(`invalid address '${address}': ${(err as Error).message}`, address);
    }
  }
}
