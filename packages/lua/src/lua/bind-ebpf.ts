import { BPFFilter, DynBPFFilter } from '@dnsdist-ts/bpf-filter';
import { parseAddress, type IpAddress } from '@dnsdist-ts/dns';
import type { XdpMode } from '@dnsdist-ts/bpf';
import { DEFAULT_PIN_DIR } from '@dnsdist-ts/ebpf';
import { bpfUnavailable } from '@dnsdist-ts/ebpf/ebpf/bpf-availability.js';
import { FrontendBind } from '@dnsdist-ts/ebpf/ebpf/frontend-bind.js';
import type { ProxyEbpf } from '@dnsdist-ts/ebpf/ebpf/proxy-ebpf.js';
import { SocketAddress } from '@dnsdist-ts/dataplane/query/client-address.js';
import { LuaOptions, type LuaArgs } from './lua-args.js';
import { LuaBindingError } from './lua-errors.js';
import type { LuaEnvironment } from './lua-environment.js';
import { dnsNameOf } from './lua-dns-name.js';
import { LuaTable, type LuaValue } from './lua-table.js';

const XDP_MODES: readonly XdpMode[] = ['native', 'generic', 'auto'];

/** A Lua table as newBPFFilter's parser takes it: string keys, nested tables converted too. */
function plainValue(v: LuaValue): unknown {
  if (!(v instanceof LuaTable)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of v.entries) out[String(k)] = plainValue(x);
  return out;
}

/** A ComboAddress or an address string, as dnsdist's eBPF functions take. */
function addressArg(args: LuaArgs, i: number): IpAddress {
  const v = args.raw(i);
  if (v instanceof SocketAddress) return { family: v.family, bytes: v.bytes };
  if (typeof v === 'string') {
    try {
      return parseAddress(v);
    } catch (err) {
      throw new LuaBindingError(`${args.fn}: '${v}' is not an IP address: ${(err as Error).message}`);
    }
  }
  return args.fail(i, 'a ComboAddress (newCA("192.0.2.1")) or an address string');
}

function addressText(a: IpAddress): string {
  return new SocketAddress(a.bytes, 0).address;
}

/**
 * dnsdist's eBPF functions (newBPFFilter, setDefaultBPFFilter,
 * newDynBPFFilter, addBPFFilterDynBlocks, register/unregisterDynBPFFilter,
 * getBind(n):attachFilter/detachFilter, the BPFFilter and DynBPFFilter
 * methods) and our attachXDPFilter{...} and bpfUnavailable(dir), over the
 * proxy's eBPF state.
 */
export function registerEbpfBindings(env: LuaEnvironment, ebpf: ProxyEbpf): void {
  const rt = env.runtime;
  const bpfArg = (args: LuaArgs, i: number) => args.object(i, BPFFilter, 'a BPFFilter (newBPFFilter(...))');
  const dynArg = (args: LuaArgs, i: number) => args.object(i, DynBPFFilter, 'a DynBPFFilter (newDynBPFFilter(bpf))');

  // null, not undefined: Lua gets one nil value, as from dnsdist (tostring(getBind(9)) is "nil", not an error).
  rt.registerFunction('newBPFFilter', (args) => {
    if (env.clientMode) return null;
    return ebpf.createFilter(args.values.slice(0, args.count).map(plainValue));
  });

  rt.registerFunction('setDefaultBPFFilter', (args) => {
    if (env.clientMode || !env.configOnly('setDefaultBPFFilter()')) return;
    ebpf.setDefaultFilter(args.isNil(0) ? undefined : bpfArg(args, 0));
  });

  rt.registerFunction('newDynBPFFilter', (args) => {
    if (env.clientMode) return null;
    return new DynBPFFilter(bpfArg(args, 0));
  });

  rt.registerFunction('registerDynBPFFilter', (args) => {
    if (!args.isNil(0)) ebpf.dynFilters.add(dynArg(args, 0));
  });
  rt.registerFunction('unregisterDynBPFFilter', (args) => {
    if (!args.isNil(0)) ebpf.dynFilters.delete(dynArg(args, 0));
  });

  rt.registerFunction('addBPFFilterDynBlocks', (args) => {
    const addrs = args.table(0);
    const dyn = dynArg(args, 1);
    const seconds = args.optInteger(2, 10);
    const msg = args.optString(3, '');
    for (const key of addrs.entries.keys()) {
      let text: string;
      if (key instanceof SocketAddress) text = key.address;
      else if (typeof key === 'string') text = addressText(parseAddress(key));
      else throw new LuaBindingError(`${args.fn}: argument #1 must be a table of ComboAddress keys (what exceedQRate() returns)`);
      if (dyn.block(text, seconds)) env.proxy.log.info(`Inserting eBPF dynamic block for ${text} for ${seconds} seconds: ${msg}`);
    }
  });

  rt.defineClass(BPFFilter, 'BPFFilter', {
    block: (f, a) => {
      const addr = addressArg(a, 0);
      f.block(addr, a.optInteger(1, 1));
      ebpf.manualAddressChange(f, addr);
    },
    unblock: (f, a) => {
      const addr = addressArg(a, 0);
      ebpf.manualAddressChange(f, addr);
      f.unblock(addr);
    },
    blockQName: (f, a) => {
      f.blockQName(dnsNameOf(a.raw(0), a.fn).toString(), a.optInteger(1, 255), a.optInteger(2, 1));
    },
    unblockQName: (f, a) => {
      f.unblockQName(dnsNameOf(a.raw(0), a.fn).toString(), a.optInteger(1, 255));
    },
    getStats: (f) => f.getStats(),
    attachToAllBinds: (f) => ebpf.attachToAllBinds(f),
    addRangeRule: (f, a) => {
      const range = a.string(0);
      f.addRangeRule(range, a.integer(1), a.optBoolean(2, false));
      ebpf.manualRangeChange(f, range);
    },
    rmRangeRule: (f, a) => {
      const range = a.string(0);
      ebpf.manualRangeChange(f, range);
      f.rmRangeRule(range);
    },
    lsRangeRule: (f) => f.lsRangeRule(),
  });

  rt.defineClass(DynBPFFilter, 'DynBPFFilter', {
    block: (d, a) => {
      d.block(addressText(addressArg(a, 0)), a.optInteger(1, 10));
    },
    purgeExpired: (d) => d.purgeExpired(),
    excludeRange: (d, a) => d.excludeRange(a.stringOrStrings(0)),
    includeRange: (d, a) => d.includeRange(a.stringOrStrings(0)),
  });

  rt.defineClass(FrontendBind, 'ClientState', {
    attachFilter: (b, a) => b.attachFilter(bpfArg(a, 0)),
    detachFilter: (b) => b.detachFilter(),
    toString: (b: FrontendBind) => b.toString(),
    getEffectiveTLSProvider: (b) => b.getEffectiveTLSProvider(),
  });
  rt.registerFunction('getBind', (args) => ebpf.bind(args.integer(0)) ?? null);

  // dnsdist-ts: nil when this process can pin maps under the directory and attach XDP, else why not (one line).
  // A configuration tests it before newBPFFilter{...}, which would fail the start-up (conf/dnsdist.conf does).
  rt.registerFunction('bpfUnavailable', (args) => bpfUnavailable(args.optString(0, DEFAULT_PIN_DIR)) ?? null);

  rt.registerFunction('attachXDPFilter', (args) => {
    if (env.clientMode) return;
    const opts = new LuaOptions('attachXDPFilter', args.table(0));
    const interfaces = opts.stringOrStrings('interfaces');
    const mode = (opts.string('mode') ?? 'native') as XdpMode;
    const portsValue = opts.raw('ports');
    const pinDir = opts.string('pinDir');
    const filter = opts.raw('filter');
    // A misspelt key first: 'interface' must not read as a missing 'interfaces'.
    opts.rejectUnknown();
    if (!interfaces || interfaces.length === 0) {
      return env.fail('attachXDPFilter: interfaces={"eth0", ...} is required: the interfaces to attach the XDP filter to');
    }
    if (!XDP_MODES.includes(mode)) return env.fail(`attachXDPFilter: mode must be "native", "generic" or "auto", got "${mode}"`);
    let ports: number[] | undefined;
    if (portsValue !== undefined) {
      const list = portsValue instanceof LuaTable ? portsValue.array() : [portsValue];
      ports = list.map((p) => {
        if (typeof p !== 'number' || !Number.isInteger(p) || p < 1 || p > 65535) {
          return env.fail(`attachXDPFilter: ports must be port numbers (1-65535), got ${String(p)}`);
        }
        return p;
      });
    }
    if (filter !== undefined && !(filter instanceof BPFFilter))
      return env.fail('attachXDPFilter: filter must be a BPFFilter (newBPFFilter(...))');
    ebpf.requestXdpFilter({
      interfaces,
      mode,
      ...(ports ? { ports } : {}),
      ...(pinDir !== undefined ? { pinDir } : {}),
      ...(filter ? { filter } : {}),
    });
  });
}
