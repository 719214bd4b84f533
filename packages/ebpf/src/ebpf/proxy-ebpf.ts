import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BPFFilter, NAME_INDEX_PIN, parseBPFFilterArgs, type DynBPFFilter, type FilterMapHandles } from '@dnsdist-ts/bpf-filter';
import { NameIndexMaintainer } from '@dnsdist-ts/xdp-filter';
import { parseAddress, type IpAddress } from '@dnsdist-ts/dns';
import { PinTransaction, attachSocketFilterFd, detachSocketFilter, type SocketLike } from '@dnsdist-ts/bpf';
import { SocketAddress } from '@dnsdist-ts/dataplane/query/client-address.js';
import type { DnsdistProxy } from '@dnsdist-ts/dataplane/server/dnsdist-proxy.js';
import type { DefaultBpfFilterRegistry } from './default-bpf-filter-registry.js';
import { EbpfSetupError } from './ebpf-setup-error.js';
import { FrontendBind, type BindFilterControl } from './frontend-bind.js';
import { XdpFilterDeployment, xdpPinDirOf, type XdpFilterRequest } from './xdp-filter-deployment.js';

/** One bind as getBind(n) numbers it. */
interface BindSlot {
  protocol: 'UDP' | 'TCP';
  address: string;
  tls: boolean;
  /** Index into the running plain (proxy.frontends) or TLS (proxy.tlsFrontends) listeners. */
  at: number;
  provider: string;
}

function addressText(host: string, port: number): string {
  return new SocketAddress(parseAddress(host).bytes, port).toStringWithPort();
}

/** How often lapsed timed entries leave the kernel maps (the issue asks for within a second of expiry); also how often the name index guards are checked. */
const PURGE_INTERVAL_MS = 1000;

export interface ProxyEbpfOptions {
  /** A configuration check (--check-config): validate everything, pin nothing, create no directory. */
  checkConfig?: boolean;
}

/**
 * The proxy's eBPF side: BPF filters created by the configuration, the
 * default filter and its KernelBlockSink (through the DefaultBpfFilterRegistry
 * it is given, which the dynamic blocks follow),
 * socket filters on the listeners, registered DynBPFFilters, the XDP
 * filter deployments, the once-a-second removal of lapsed kernel entries,
 * and the XDP filter's name index guards (one per pin directory holding
 * the filter's maps, so that the default name-index mode can use the
 * index whoever writes the maps). Knows nothing of Lua: bind-ebpf.ts is a
 * thin layer over it.
 *
 * Pins are made in two steps. While the configuration runs, filters get
 * unpinned maps (or the maps already pinned) and their pins are only
 * planned, each path checked as it comes; configurationLoaded() checks
 * the configuration's BPF side as a whole (every pin path, the XDP
 * filters' pin directories) and only then makes the pins. A start that
 * fails after that removes what it made (abandonStartup); a configuration
 * check makes nothing at all. Index guards pin nothing (they reuse the
 * pinned maps) and start only with the listeners, never in a check.
 */
export class ProxyEbpf implements BindFilterControl {
  readonly proxy: DnsdistProxy;
  readonly defaultFilter: DefaultBpfFilterRegistry;
  /** registerDynBPFFilter: what the web UI's eBPF block list shows. */
  readonly dynFilters = new Set<DynBPFFilter>();
  readonly #filters = new Set<BPFFilter>();
  /** Per-bind choice made with getBind(n): a filter, or null for "none, not even the default". */
  readonly #bindChoice = new Map<number, BPFFilter | null>();
  /** What is attached to each running socket now. */
  readonly #attached = new Map<number, BPFFilter>();
  /** With data-plane workers: where the plan of socket filters goes (the sockets are the workers'). */
  #workerPlan: ((plan: (number | null)[]) => void) | undefined;
  /** A data-plane worker: the program descriptor attached to each of its sockets, as the control plane said. */
  readonly #attachedFds = new Map<number, number>();
  readonly #xdp: XdpFilterDeployment[] = [];
  readonly #indexGuards: NameIndexMaintainer;
  #purgeTimer: NodeJS.Timeout | undefined;
  #started = false;
  #stopped = false;
  /** The configuration's pins, planned while it runs, made by configurationLoaded(). */
  readonly #startupPins: PinTransaction;
  #configured = false;
  /** shareFilters(): the maps the next filters take, the next one's position, the filters created since. */
  #sharedGiven: readonly FilterMapHandles[] = [];
  #sharedNext = 0;
  #createdSinceShare: BPFFilter[] = [];

  constructor(proxy: DnsdistProxy, defaultFilter: DefaultBpfFilterRegistry, options: ProxyEbpfOptions = {}) {
    this.proxy = proxy;
    this.defaultFilter = defaultFilter;
    this.#startupPins = new PinTransaction({ dryRun: options.checkConfig ?? false });
    this.#indexGuards = new NameIndexMaintainer(proxy.log);
  }

  /**
   * newBPFFilter(...) in any of its three forms; the proxy closes it at
   * stop. While the configuration runs its pins are only planned; later
   * (from the console) the filter pins its maps at once.
   */
  createFilter(args: readonly unknown[]): BPFFilter {
    const shared = this.#sharedGiven[this.#sharedNext];
    let f: BPFFilter;
    if (shared) {
      this.#sharedNext++;
      f = BPFFilter.sharing(parseBPFFilterArgs(args), shared);
    } else {
      f = this.#configured ? BPFFilter.fromArgs(args) : BPFFilter.fromArgs(args, this.#startupPins);
    }
    this.#filters.add(f);
    this.#createdSinceShare.push(f);
    return f;
  }

  /**
   * With data-plane workers, one set of kernel maps per `newBPFFilter`:
   * from now on, the filters created take the maps in `given`, in order
   * (a worker running the configuration or a console change, given the
   * control plane's filters: see {@link takeSharedFilters}); past the end
   * of `given` (or with none) they create their own, as with one process.
   */
  shareFilters(given: readonly FilterMapHandles[] = []): void {
    this.#sharedGiven = given;
    this.#sharedNext = 0;
    this.#createdSinceShare = [];
  }

  /** The control plane: the handles of the filters created since shareFilters(), in order, for the workers; starts again. */
  takeSharedFilters(): FilterMapHandles[] {
    const handles = this.#createdSinceShare.map((f) => f.handles());
    this.shareFilters();
    return handles;
  }

  /**
   * The configuration has run: check its BPF side as a whole (every
   * planned pin path again, each XDP filter's pin directory and the maps
   * already pinned there), then make the planned pins. A configuration
   * check stops after the checks. Throws, having made nothing, when a
   * check fails.
   */
  configurationLoaded(): void {
    if (this.#configured) return;
    for (const d of this.#xdp) d.validate(this.defaultFilter.filter, this.#startupPins);
    this.#startupPins.commit();
    this.#configured = true;
  }

  /**
   * Loading the configuration or starting failed: detach the XDP filters
   * and remove every pin and directory this start made (the filters' and
   * the XDP loader's). Pins that were there before stay, entries and all.
   */
  abandonStartup(): void {
    this.#indexGuards.close();
    for (const d of this.#xdp) {
      d.stop();
      d.removeCreatedPins();
    }
    this.#startupPins.undo();
  }

  /** What configurationLoaded() pinned and created (for logs and tests). */
  get startupPins(): { pins: string[]; dirs: string[] } {
    return this.#startupPins.created;
  }

  /** Filters created through createFilter, still open. */
  get filters(): readonly BPFFilter[] {
    return [...this.#filters];
  }

  /**
   * setDefaultBPFFilter: the filter dynamic blocks go into; an internal
   * (non-external) one is also attached to every listener at start-up.
   */
  setDefaultFilter(filter: BPFFilter | undefined): void {
    this.defaultFilter.set(filter);
  }

  // ---- listening sockets --------------------------------------------------

  /**
   * Every bind in dnsdist's numbering: each plain listener's UDP then TCP
   * socket, each TLS listener's one socket, in the listener plan's order.
   * `at` indexes the running plain or TLS listeners.
   */
  #binds(running = this.#started): BindSlot[] {
    const out: BindSlot[] = [];
    let plain = 0;
    let tls = 0;
    for (const slot of this.proxy.listenerPlan()) {
      if (slot.tls) {
        const tlsFe = running ? this.proxy.tlsFrontends[tls] : undefined;
        const address = tlsFe ? tlsFe.tcp.local.toStringWithPort() : addressText(slot.config.host, slot.config.port);
        out.push({ protocol: 'TCP', address, tls: true, at: tls++, provider: slot.config.tls.effectiveProvider });
        continue;
      }
      const fe = running ? this.proxy.frontends[plain] : undefined;
      const address = fe ? fe.udp.local.toStringWithPort() : addressText(slot.config.host, slot.config.port);
      out.push({ protocol: 'UDP', address, tls: false, at: plain, provider: '' });
      out.push({ protocol: 'TCP', address, tls: false, at: plain++, provider: '' });
    }
    return out;
  }

  /** getBind(n): undefined past the last socket (dnsdist returns nil). */
  bind(index: number): FrontendBind | undefined {
    if (!Number.isInteger(index) || index < 0) return undefined;
    const b = this.#binds()[index];
    return b ? new FrontendBind(index, b.protocol, b.address, this, b.provider) : undefined;
  }

  attachFilter(index: number, filter: BPFFilter): void {
    this.#checkAttachable(filter);
    this.#bindChoice.set(index, filter);
    if (this.#started) this.#apply(index, filter);
  }

  detachFilter(index: number): void {
    this.#bindChoice.set(index, null);
    if (this.#started) this.#apply(index, undefined);
  }

  /** bpf:attachToAllBinds(): every listener, now or at start-up. */
  attachToAllBinds(filter: BPFFilter): void {
    this.#checkAttachable(filter);
    const n = this.#binds().length;
    for (let i = 0; i < n; i++) this.attachFilter(i, filter);
  }

  #checkAttachable(filter: BPFFilter): void {
    if (filter.external) {
      throw new EbpfSetupError(
        'this BPFFilter is external: an XDP program enforces its maps (attachXDPFilter), there is no socket filter to attach',
        filter.options,
      );
    }
  }

  /** The OS socket of a running bind. */
  #socket(index: number): SocketLike {
    const b = this.#binds(true)[index];
    if (!b) throw new EbpfSetupError(`no listening socket #${index}`, index);
    if (b.tls) return this.proxy.tlsFrontends[b.at]!.tcp.server;
    const fe = this.proxy.frontends[b.at]!;
    if (b.protocol === 'TCP') return fe.tcp.server;
    const fd = (fe.udp.endpoint as { fd?: unknown }).fd;
    if (typeof fd === 'number' && fd >= 0) return fd;
    throw new EbpfSetupError(
      `the UDP listener ${fe.udp.local.toStringWithPort()} uses Node's dgram implementation, which does not expose its socket for a BPF filter: use the native UDP implementation (--udp-io native, built by make)`,
      fe.udp.local.toStringWithPort(),
    );
  }

  #apply(index: number, filter: BPFFilter | undefined): void {
    const current = this.#attached.get(index);
    if (current === filter) return;
    if (this.#workerPlan) {
      if (filter) this.#attached.set(index, filter);
      else this.#attached.delete(index);
      this.#workerPlan(this.#plan());
      return;
    }
    const sock = this.#socket(index);
    if (current) {
      current.detach(sock);
      this.#attached.delete(index);
    }
    if (filter) {
      filter.attach(sock);
      this.#attached.set(index, filter);
    }
  }

  /**
   * With data-plane workers: the sockets are the workers', which follow
   * the plan `send` gets (worker-socket-filters.ts) whenever it changes.
   * Set before the listeners start.
   */
  sendSocketFiltersTo(send: (plan: (number | null)[]) => void): void {
    this.#workerPlan = send;
  }

  /** Per bind: the program descriptor of its socket filter, or null. */
  #plan(): (number | null)[] {
    return this.#binds(false).map((_, i) => this.#attached.get(i)?.socketProgramFd ?? null);
  }

  /**
   * A data-plane worker: attach to (or detach from) this worker's own
   * sockets the programs the control plane's filters loaded, by descriptor
   * (worker threads share the descriptor table). Returns an error line per
   * bind that could not follow the plan.
   */
  applyProgramPlan(plan: readonly (number | null)[]): string[] {
    const errors: string[] = [];
    this.#binds(true).forEach((b, i) => {
      const want = plan[i] ?? undefined;
      // A worker past setMaxTCPClientThreads has no TCP listening socket.
      if (b.protocol === 'TCP' && !this.proxy.acceptsTcp) return;
      if (this.#attachedFds.get(i) === want) return;
      try {
        const sock = this.#socket(i);
        if (want === undefined) detachSocketFilter(sock);
        else attachSocketFilterFd(sock, want);
        if (want === undefined) this.#attachedFds.delete(i);
        else this.#attachedFds.set(i, want);
      } catch (err) {
        errors.push(
          `${want === undefined ? 'detaching the' : 'attaching a'} BPF filter on ${b.protocol} frontend ${b.address}: ${(err as Error).message}`,
        );
      }
    });
    return errors;
  }

  /** The filter attached to a running bind, if any. */
  attachedFilter(index: number): BPFFilter | undefined {
    return this.#attached.get(index);
  }

  // ---- XDP -----------------------------------------------------------------

  /** attachXDPFilter: attach at start-up (or now, when already started), detach at stop. */
  requestXdpFilter(request: XdpFilterRequest): XdpFilterDeployment {
    const d = new XdpFilterDeployment(request);
    this.#xdp.push(d);
    if (this.#started) d.start(this.defaultFilter.filter, this.#listenerPorts(), this.proxy.log);
    return d;
  }

  get xdpDeployments(): readonly XdpFilterDeployment[] {
    return this.#xdp;
  }

  #listenerPorts(): number[] {
    return [...this.proxy.frontends.map((f) => f.udp.local.port), ...this.proxy.tlsFrontends.map((f) => f.tcp.local.port)];
  }

  // ---- lifecycle -------------------------------------------------------------

  /**
   * The listeners are open: attach the socket filters (per-bind choices,
   * else an internal default filter), the XDP filters, and start removing
   * lapsed kernel entries once a second.
   */
  listenersStarted(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    const def = this.defaultFilter.filter;
    const internalDefault = def && !def.external ? def : undefined;
    // With workers, the plan goes to them once, complete.
    const send = this.#workerPlan;
    this.#workerPlan = undefined;
    const apply = (i: number, filter: BPFFilter) => {
      if (!send) return this.#apply(i, filter);
      this.#attached.set(i, filter);
    };
    this.#binds().forEach((b, i) => {
      const choice = this.#bindChoice.get(i);
      const filter = choice === null ? undefined : (choice ?? internalDefault);
      if (!filter) return;
      apply(i, filter);
      this.proxy.log.debug(
        `Attaching ${filter === internalDefault ? 'default ' : ''}BPF Filter to ${b.tls ? 'TLS' : b.protocol} frontend ${b.address}`,
      );
    });
    this.#workerPlan = send;
    if (send && this.#attached.size > 0) send(this.#plan());
    for (const d of this.#xdp) d.start(def, this.#listenerPorts(), this.proxy.log);
    this.maintainNameIndexes();
    this.#purgeTimer = setInterval(() => {
      this.purgeExpired();
      this.maintainNameIndexes();
    }, PURGE_INTERVAL_MS);
    this.#purgeTimer.unref();
  }

  /**
   * Keep an index guard on every pin directory that holds the XDP filter's
   * maps and name index: those of the XDP deployments, and those of the
   * pinned external filters (the filter may be attached by `xdp-filter
   * attach`, or later). Checked once a second: a guard follows replaced
   * pins, and an index created after start-up is picked up.
   */
  maintainNameIndexes(): void {
    const dirs = new Set<string>();
    for (const d of this.#xdp) if (d.pinDir !== undefined) dirs.add(d.pinDir);
    const filters = new Set(this.#filters);
    if (this.defaultFilter.filter) filters.add(this.defaultFilter.filter);
    for (const f of filters) {
      if (!f.external) continue;
      try {
        dirs.add(xdpPinDirOf(f));
      } catch {
        // Not pinned in one directory under the conventional names: no XDP filter reads it.
      }
    }
    this.#indexGuards.keep([...dirs].filter((d) => existsSync(join(d, NAME_INDEX_PIN))));
  }

  /** Pin directories whose name index this proxy keeps guarded. */
  get guardedNameIndexes(): string[] {
    return this.#indexGuards.dirs;
  }

  /**
   * Remove lapsed timed entries from every filter (and the suffix map):
   * dynamic blocks and DynBPFFilter entries leave the kernel within a
   * second of their expiry, whoever forgets them.
   */
  purgeExpired(): void {
    const sink = this.defaultFilter.sink;
    for (const f of this.#filters) {
      try {
        if (sink && sink.filter === f) sink.purgeExpired();
        else f.purgeExpired();
      } catch (err) {
        this.proxy.log.warn(`Error removing expired eBPF entries: ${(err as Error).message}`);
      }
    }
  }

  /** Detach the XDP filters, stop the purge, release every map. Idempotent. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#purgeTimer) clearInterval(this.#purgeTimer);
    this.#indexGuards.close();
    for (const d of this.#xdp) d.stop();
    // Not close(): the dynamic blocks' kernel entries must outlive this run, for the next one to inherit.
    this.defaultFilter.release();
    this.#attached.clear();
    for (const f of this.#filters) f.close();
    this.#filters.clear();
  }

  /**
   * A manual change on a filter's address (Lua bpf:block/unblock): if it
   * is the default filter, the dynamic-block sink stops owning that key.
   */
  manualAddressChange(filter: BPFFilter, address: IpAddress): void {
    const sink = this.defaultFilter.sink;
    if (sink && sink.filter === filter) sink.disownAddress(address);
  }

  /** As manualAddressChange, for range rules. */
  manualRangeChange(filter: BPFFilter, range: string): void {
    const sink = this.defaultFilter.sink;
    if (sink && sink.filter === filter) sink.disownRange(range);
  }
}
