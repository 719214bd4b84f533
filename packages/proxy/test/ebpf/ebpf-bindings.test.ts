import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cidrKey, externalQNameKey, ipv4Key, ipv6Key, nowNs } from '@dnsdist-ts/bpf-filter';
import { DNSName } from '@dnsdist-ts/dns';
import { DnsdistApp } from '../../src/app/dnsdist-app.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { describeBpf, uniqueName } from '../../../../test/support/require-bpf.js';
import { pinnedFilterLua, rawEntry as raw } from './ebpf-fixtures.js';

describeBpf('eBPF functions in the Lua configuration', () => {
  const root = `/sys/fs/bpf/${uniqueName('dtsl')}`;
  const dir = `${root}/dnsdist`;
  let proxy: RunningProxy;
  const run = (line: string) => proxy.app.runConsoleCommand(line);

  beforeAll(async () => {
    proxy = await startProxy(`
      setLocal("127.0.0.1:\${PORT}")
      bpf = ${pinnedFilterLua(dir)}
      setDefaultBPFFilter(bpf)
      bpf:block(newCA("192.0.2.1"))
      bpf:block(newCA("2001:db8::1"), 2)
      bpf:block("192.0.2.3", 0)
      bpf:blockQName(newDNSName("Evil.Example"), 16, 2)
      bpf:blockQName("any.example")
      bpf:addRangeRule("198.51.100.0/24", 1)
      bpf:addRangeRule("2001:db8:1::/48", 2)
      print("BIND0=" .. tostring(getBind(0)) .. " BIND1=" .. getBind(1):toString() .. " BIND2=" .. tostring(getBind(2)))
    `);
  });
  afterAll(async () => {
    await proxy?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it("bpf:block, blockQName and addRangeRule write dnsdist's layouts into the pinned maps", () => {
    expect(raw(`${dir}/addr-v4`, ipv4Key(Uint8Array.from([192, 0, 2, 1])))?.[8]).toBe(1);
    expect(raw(`${dir}/addr-v4`, ipv4Key(Uint8Array.from([192, 0, 2, 3])))?.[8]).toBe(0);
    const db8 = (b: number[]) => Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, ...b, ...new Array<number>(12 - b.length).fill(0)]);
    expect(raw(`${dir}/addr-v6`, ipv6Key(db8([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])))?.[8]).toBe(2);
    expect(raw(`${dir}/qnames`, externalQNameKey(DNSName.fromString('evil.example').toWire(), 16))?.[8]).toBe(2);
    expect(raw(`${dir}/qnames`, externalQNameKey(DNSName.fromString('any.example').toWire(), 255))?.[8]).toBe(1);
    expect(raw(`${dir}/cidr4`, cidrKey(Uint8Array.from([198, 51, 100, 0]), 24))?.[8]).toBe(1);
    expect(raw(`${dir}/cidr6`, cidrKey(db8([0, 1]), 48))?.[8]).toBe(2);
    // Manual blocks are permanent: no expiry record.
    expect(raw(`${dir}/addr-v4-expiry`, ipv4Key(Uint8Array.from([192, 0, 2, 1])))).toBeUndefined();
  });

  it('getStats, lsRangeRule and unblocking from the console, with dnsdist texts', () => {
    const stats = run('bpf:getStats()');
    expect(stats).toContain('192.0.2.1: 0\n');
    expect(stats).toContain('[2001:db8::1]: 0\n');
    expect(stats).toContain('evil.example. TXT: 0\n');
    expect(run('bpf:lsRangeRule()')).toBe('Drop\t 198.51.100.0/24\nTruncate\t[2001:db8:1::/48]\n');
    expect(run('bpf:unblock(newCA("192.0.2.200"))')).toContain('Error removing blocked address 192.0.2.200: No such file or directory');
    expect(run('bpf:block(newCA("192.0.2.9"), 7)')).toContain('Unsupported action for BPFFilter::block');
    expect(run('bpf:blockQName(newDNSName("x.example"), 1, 9)')).toContain('Unsupported action for BPFFilter::blockQName');
    expect(run('bpf:rmRangeRule("203.0.113.0/24")')).toContain("Cannot remove '203.0.113.0/24': No such rule");
    expect(run('bpf:unblockQName("any.example")')).toBe('');
    expect(raw(`${dir}/qnames`, externalQNameKey(DNSName.fromString('any.example').toWire(), 255))).toBeUndefined();
    expect(run('bpf:block(newCA("not-an-address"))')).toMatch(/^Error: /);
  });

  it("setDefaultBPFFilter is configuration-only, with dnsdist's message", () => {
    expect(run('setDefaultBPFFilter(bpf)')).toBe('setDefaultBPFFilter() cannot be used at runtime!\n');
    expect(proxy.app.ebpf.defaultFilter.filter).toBeDefined();
  });

  it('getBind(n) numbers sockets as showBinds does and prints its address; external filters do not attach', () => {
    const port = proxy.port;
    expect(proxy.output).toContain(`BIND0=127.0.0.1:${port} BIND1=127.0.0.1:${port} BIND2=nil`);
    expect(run('getBind(0)')).toBe(`127.0.0.1:${port}\n`);
    expect(run('getBind(5)')).toBe('');
    expect(run('getBind(0):attachFilter(bpf)')).toContain('this BPFFilter is external');
    expect(run('bpf:attachToAllBinds()')).toContain('this BPFFilter is external');
    expect(run('getBind(1):detachFilter()')).toBe('');
  });

  it('newDynBPFFilter and addBPFFilterDynBlocks: timed Drop entries, logged once, registered for the web UI', () => {
    const before = nowNs();
    run('dbpf = newDynBPFFilter(bpf)');
    run('addBPFFilterDynBlocks({[newCA("203.0.113.5")]=3, [newCA("203.0.113.6")]=4}, dbpf, 5, "flood")');
    run('addBPFFilterDynBlocks({[newCA("203.0.113.5")]=3}, dbpf, 5, "flood")');
    const logged = proxy.output.filter((l) => l.startsWith('Inserting eBPF dynamic block'));
    expect(logged.sort()).toEqual([
      'Inserting eBPF dynamic block for 203.0.113.5 for 5 seconds: flood',
      'Inserting eBPF dynamic block for 203.0.113.6 for 5 seconds: flood',
    ]);
    const key = ipv4Key(Uint8Array.from([203, 0, 113, 5]));
    expect(raw(`${dir}/addr-v4`, key)?.[8]).toBe(1);
    const until = raw(`${dir}/addr-v4-expiry`, key)!.readBigUInt64LE(0);
    expect(Number(until - before) / 1e9).toBeGreaterThanOrEqual(5);
    expect(Number(until - before) / 1e9).toBeLessThan(6);
    run('dbpf:excludeRange({"203.0.113.0/24"})');
    run('dbpf:block(newCA("203.0.113.9"))');
    expect(raw(`${dir}/addr-v4`, ipv4Key(Uint8Array.from([203, 0, 113, 9])))).toBeUndefined();
    run('dbpf:includeRange("203.0.113.8/29")');
    run('dbpf:block(newCA("203.0.113.9"), 30)');
    expect(raw(`${dir}/addr-v4`, ipv4Key(Uint8Array.from([203, 0, 113, 9])))?.[8]).toBe(1);
    run('registerDynBPFFilter(dbpf)');
    expect(proxy.app.ebpf.dynFilters.size).toBe(1);
    run('unregisterDynBPFFilter(dbpf)');
    expect(proxy.app.ebpf.dynFilters.size).toBe(0);
    expect(run('dbpf:purgeExpired()')).toBe('');
    expect(run('newDynBPFFilter(nil)')).toContain('argument #1 must be a BPFFilter');
  });

  it('argument errors name the function and the argument', () => {
    expect(run('newBPFFilter(1, 1)')).toContain('newBPFFilter takes (maxV4, maxV6, maxQNames)');
    expect(run('newBPFFilter{ipv4MaxItems=1, ipv6MaxItems=1, qnamesMaxItems=1, external="yes"}')).toContain(
      "'external' must be true or false",
    );
    expect(run('newBPFFilter{ipv4MaxItem=1}')).toContain("unknown option 'ipv4MaxItem'");
    expect(run('attachXDPFilter{interfaces={"lo"}, mode="fast"}')).toContain('mode must be "native", "generic" or "auto"');
    expect(run('attachXDPFilter{interface="lo"}')).toContain("unknown option 'interface'");
  });
});

describe('eBPF functions in console-client mode', () => {
  it('newBPFFilter and newDynBPFFilter return nil and create nothing, as dnsdist -c does', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dts-ebpf-client-'));
    const pin = `/sys/fs/bpf/${uniqueName('dtsc')}`;
    try {
      const file = join(dir, 'dnsdist.conf');
      writeFileSync(
        file,
        `bpf = newBPFFilter({maxItems=8, pinnedPath="${pin}/v4"}, 8, 8, true)\nsetDefaultBPFFilter(bpf)\nok = bpf == nil`,
      );
      const app = new DnsdistApp({ configFile: file, clientMode: true, output: () => {} });
      app.runtime.runFile(file);
      expect(app.runtime.runString('return ok, newDynBPFFilter == nil')).toEqual([true, false]);
      expect(existsSync(pin)).toBe(false);
      expect(app.ebpf.defaultFilter.filter).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(pin, { recursive: true, force: true });
    }
  });
});
