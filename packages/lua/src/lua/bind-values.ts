import { DNSName, NetmaskGroup, parseAddressWithPort, SuffixMatchNode } from '@dnsdist-ts/dns';
import { SocketAddress } from '@dnsdist-ts/dataplane/query/client-address.js';
import type { LuaEnvironment } from './lua-environment.js';
import { LuaDNSName, dnsNameOf } from './lua-dns-name.js';
import { LuaTable } from './lua-table.js';

/** newCA, newDNSName, newNMG, newSuffixMatchNode and their methods. */
export function registerValueBindings(env: LuaEnvironment): void {
  const rt = env.runtime;

  rt.defineClass<SocketAddress>(SocketAddress, 'ComboAddress', {
    tostring: (a) => a.address,
    toString: (a: SocketAddress) => a.address,
    tostringWithPort: (a) => a.toStringWithPort(),
    toStringWithPort: (a) => a.toStringWithPort(),
    getPort: (a) => a.port,
    isIPv4: (a) => a.family === 4,
    isIPv6: (a) => a.family === 6,
    truncate: (a, args) => {
      const bits = args.integer(0);
      const out = a.bytes.slice();
      for (let i = 0; i < out.length * 8; i++) {
        if (i >= bits) out[i >> 3]! &= ~(0x80 >> (i & 7));
      }
      return new SocketAddress(out, a.port);
    },
  });
  rt.registerFunction('newCA', (args) => {
    const text = args.string(0);
    const parsed = parseAddressWithPort(text, 0);
    return new SocketAddress(parsed.bytes, parsed.port);
  });

  rt.defineClass<LuaDNSName>(LuaDNSName, 'DNSName', {
    toString: (n: LuaDNSName) => n.name.toString(),
    tostring: (n) => n.name.toString(),
    toStringNoDot: (n) => n.name.toStringNoDot(),
    toDNSString: (n) => n.name.toWire().toString('latin1'),
    countLabels: (n) => n.name.countLabels(),
    wirelength: (n) => n.name.wirelength(),
    isPartOf: (n, a) => n.name.isPartOf(dnsNameOf(a.raw(0), 'DNSName:isPartOf')),
    equal: (n, a) => n.name.equals(dnsNameOf(a.raw(0), 'DNSName:equal')),
    chopOff: (n) => {
      const shorter = n.name.chopOff();
      if (!shorter) return false;
      n.name = shorter;
      return true;
    },
  });
  rt.registerFunction('newDNSName', (args) => new LuaDNSName(DNSName.fromString(args.string(0))));

  rt.defineClass<NetmaskGroup>(NetmaskGroup, 'NetmaskGroup', {
    addMask: (g, a) => {
      const v = a.raw(0);
      if (v instanceof LuaTable) for (const m of a.stringOrStrings(0)) g.addMask(m);
      else g.addMask(a.string(0));
    },
    addMasks: (g, a) => {
      const t = a.table(0);
      for (const [k, v] of t.entries) g.addMask(typeof k === 'string' ? k : String(v));
    },
    match: (g, a) => {
      const v = a.raw(0);
      if (v instanceof SocketAddress) return g.match(v.bytes);
      return g.match(parseAddressWithPort(a.string(0), 0).bytes);
    },
    clear: (g) => g.clear(),
    size: (g) => g.size(),
    toString: (g: NetmaskGroup) => g.toString(),
  });
  rt.registerFunction('newNMG', () => new NetmaskGroup());

  rt.defineClass<SuffixMatchNode>(SuffixMatchNode, 'SuffixMatchNode', {
    add: (n, a) => {
      const v = a.raw(0);
      if (v instanceof LuaTable) {
        for (const x of v.entries.values()) n.add(dnsNameOf(x, 'SuffixMatchNode:add'));
      } else n.add(dnsNameOf(v, 'SuffixMatchNode:add'));
    },
    remove: (n, a) => n.remove(dnsNameOf(a.raw(0), 'SuffixMatchNode:remove')),
    check: (n, a) => n.check(dnsNameOf(a.raw(0), 'SuffixMatchNode:check')),
    toString: (n: SuffixMatchNode) => n.toString(),
  });
  rt.registerFunction('newSuffixMatchNode', () => new SuffixMatchNode());
}
