/**
 * Dynamic blocks end to end: the proxy started from a Lua configuration,
 * the demo backend, clients on distinct loopback addresses over real
 * sockets. maintenance() runs from the proxy's tick; tests call the tick
 * themselves once the flood is in the ring (an event), instead of waiting
 * for the next second.
 */
import type { DemoServer } from '../../src/demo/demo-authoritative-server.js';
import { waitFor } from '../support/dns-client.js';
import { startDemo, startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { SourceClient } from './source-client.js';

const NAME = 'www.example.test';

let demo: DemoServer;
const clients: SourceClient[] = [];

beforeAll(async () => {
  demo = await startDemo();
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await demo.close();
});

async function client(address: string): Promise<SourceClient> {
  const c = await SourceClient.bind(address);
  clients.push(c);
  return c;
}

async function proxyWith(rules: string): Promise<RunningProxy> {
  return startProxy(
    `setLocal("127.0.0.1:\${PORT}")
     newServer{address="127.0.0.1:\${BACKEND}", healthCheckMode="up"}
     setRingBuffersSize(10000, 1)
     ${rules}`,
    { BACKEND: demo.port },
  );
}

/** Flood from `c`, wait until the proxy has recorded it, run one maintenance tick. */
async function floodAndTick(p: RunningProxy, c: SourceClient, count: number, name = NAME): Promise<void> {
  const before = p.app.rings.getNumberOfQueryEntries();
  c.send(p.port, count, name);
  await waitFor('the flood to reach the query ring', () => p.app.rings.getNumberOfQueryEntries() >= before + count);
  p.app.proxy.tick();
}

const stat = (p: RunningProxy, name: string): number => Number(p.app.runConsoleCommand(`getStatisticsCounters()["${name}"]`).trim());

describe('dynamic blocks from a rules group', () => {
  let p: RunningProxy;
  afterEach(async () => p?.stop());

  it('drops a client over the rate, leaves the others alone, and lifts the block on time', async () => {
    p = await proxyWith(`
      dbr = dynBlockRulesGroup()
      dbr:setQueryRate(20, 1, "Exceeded query rate", 2, DNSAction.Drop)
      function maintenance() dbr:apply() end`);
    const attacker = await client('127.0.0.2');
    const other = await client('127.0.0.3');
    expect((await attacker.query(p.port, NAME))?.rcode).toBe('NOERROR');
    await floodAndTick(p, attacker, 40);
    const floodEnd = performance.now();
    expect(p.output).toContain('Inserting dynamic block for 127.0.0.2/32 for 2 seconds: Exceeded query rate');
    expect(await attacker.query(p.port, NAME, 'A', 300)).toBeUndefined();
    expect((await other.query(p.port, NAME))?.rcode).toBe('NOERROR');
    expect(stat(p, 'dyn-blocked')).toBeGreaterThanOrEqual(1);
    expect(stat(p, 'dyn-block-nmg-size')).toBe(1);
    expect(p.app.runConsoleCommand('showDynBlocks()')).toMatch(
      /^What {22}Seconds {3}Blocks Warning {4}Action {15}Reason\n127\.0\.0\.2\/32 +[12] +\d+ false +Drop +Exceeded query rate\n$/,
    );

    // Blocked for 2 s after the last pass that saw it over the rate (the flood leaves the 1 s window within a second).
    let answered: number | undefined;
    while (answered === undefined && performance.now() - floodEnd < 6000) {
      if (await attacker.query(p.port, NAME, 'A', 150)) answered = performance.now() - floodEnd;
    }
    expect(answered).toBeDefined();
    expect(answered!).toBeGreaterThan(1800);
    expect(answered!).toBeLessThan(4500);
    // Expired but not purged yet: still in the tree (dnsdist's dyn-block-nmg-size semantics), no longer shown.
    expect(stat(p, 'dyn-block-nmg-size')).toBe(1);
    expect(p.app.runConsoleCommand('showDynBlocks()')).toBe(
      'What                      Seconds   Blocks Warning    Action               Reason\n',
    );
    p.app.runConsoleCommand('clearDynBlocks()');
    expect(stat(p, 'dyn-block-nmg-size')).toBe(0);
  });

  it('a warning rate makes a NoOp block: the client still gets answers', async () => {
    p = await proxyWith(`
      dbr = dynBlockRulesGroup()
      dbr:setQueryRate(100000, 1, "watch", 60, DNSAction.Drop, 10)
      dbr:setNewBlockInsertedHook(function(kind, key, reason, action, seconds, warning)
        hooked = (hooked or "") .. table.concat({kind, key, reason, action, seconds, tostring(warning)}, "|") .. ";"
      end)
      function maintenance() dbr:apply() end`);
    const c = await client('127.0.0.7');
    await floodAndTick(p, c, 30);
    expect(p.app.runConsoleCommand('hooked')).toBe('0|127.0.0.7/32|watch|0|60|true;\n');
    expect(p.output).toContain('Inserting (warning) dynamic block for 127.0.0.7/32 for 60 seconds: watch');
    expect((await c.query(p.port, NAME))?.rcode).toBe('NOERROR');
    expect(p.app.runConsoleCommand('showDynBlocks()')).toMatch(/\n127\.0\.0\.7\/32 +(?:59|60) +0 true +Do nothing +watch\n$/);
    expect(stat(p, 'dyn-blocked')).toBe(0);
  });

  it('excluded clients are never blocked; a /24 mask blocks the whole range', async () => {
    p = await proxyWith(`
      dbr = dynBlockRulesGroup()
      dbr:setQueryRate(20, 1, "range", 60, DNSAction.Refused)
      dbr:setMasks(24, 64, 0)
      dbr:excludeRange({"127.0.0.8/32", "127.0.1.0/24"})
      function maintenance() dbr:apply() end`);
    const excluded = await client('127.0.0.8');
    const inRange = await client('127.0.0.10');
    const neighbour = await client('127.0.0.11');
    const excludedRange = await client('127.0.1.1');
    await floodAndTick(p, excluded, 40);
    expect((await excluded.query(p.port, NAME))?.rcode).toBe('NOERROR');
    await floodAndTick(p, excludedRange, 40);
    expect((await excludedRange.query(p.port, NAME))?.rcode).toBe('NOERROR');
    await floodAndTick(p, inRange, 40);
    expect((await neighbour.query(p.port, NAME))?.rcode).toBe('REFUSED');
    // Exclusions stop insertions (checked on the range's network address), not lookups: the /24 covers 127.0.0.8 too.
    expect(keysOf(p, 'getDynamicBlocks()')).toBe('127.0.0.0/24\n');
    expect((await excluded.query(p.port, NAME))?.rcode).toBe('REFUSED');
  });

  it('the suffix-match rule blocks a busy name and its sub-names', async () => {
    p = await proxyWith(`
      dbr = dynBlockRulesGroup()
      dbr:setSuffixMatchRule(10, "smt", 60, DNSAction.Refused, function(node, self, children)
        if node.fullname == "example.test." and children.queries >= 10 then return true, "busy " .. node.fullname end
        return false
      end)
      function maintenance() dbr:apply() end`);
    const c = await client('127.0.0.12');
    for (let i = 0; i < 10; i++) expect((await c.query(p.port, `n${i}.example.test`))?.rcode).toBeDefined();
    await waitFor('the answers to reach the response ring', () => p.app.rings.getNumberOfResponseEntries() >= 10);
    p.app.proxy.tick();
    expect(p.output).toContain('Inserting dynamic block for example.test for 60 seconds: busy example.test.');
    expect((await c.query(p.port, 'mail.Example.TEST'))?.rcode).toBe('REFUSED');
    expect((await c.query(p.port, 'example.test'))?.rcode).toBe('REFUSED');
    expect(p.app.runConsoleCommand('showDynBlocks()')).toMatch(
      /\nexample\.test\. +(?:59|60) +2 false +Send Refused +busy example\.test\.\n$/,
    );
  });

  it('setSuffixMatchRuleFFI: the visitor reads the node through ffi.C and sets the reason with dnsdist_ffi_state_node_set_reason', async () => {
    p = await proxyWith(`
      local ffi = require("ffi")
      local C = ffi.C
      dbr = dynBlockRulesGroup()
      dbr:setSuffixMatchRuleFFI(10, "smt", 60, DNSAction.Refused, function(node)
        local name = ffi.new("const char *[1]")
        local size = ffi.new("size_t[1]")
        C.dnsdist_ffi_stat_node_get_full_name_raw(node, name, size)
        local full = ffi.string(name[0], size[0])
        if full == "ffi.test." and tonumber(C.dnsdist_ffi_stat_node_get_children_queries_count(node)) >= 10 then
          local reason = "busy " .. full .. " " .. C.dnsdist_ffi_stat_node_get_labels_count(node)
          C.dnsdist_ffi_state_node_set_reason(node, reason, #reason)
          return true
        end
        return false
      end)
      function maintenance() dbr:apply() end`);
    const c = await client('127.0.0.14');
    for (let i = 0; i < 10; i++) expect((await c.query(p.port, `n${i}.ffi.test`))?.rcode).toBeDefined();
    await waitFor('the answers to reach the response ring', () => p.app.rings.getNumberOfResponseEntries() >= 10);
    p.app.proxy.tick();
    expect(p.output).toContain('Inserting dynamic block for ffi.test for 60 seconds: busy ffi.test. 2');
    expect((await c.query(p.port, 'mail.ffi.test'))?.rcode).toBe('REFUSED');
  });
});

/** The sorted keys of a table-returning call, through Lua (the console shows tables of tables as "table"). */
function keysOf(p: RunningProxy, call: string): string {
  return p.app.runConsoleCommand(`local t = {}; for k in pairs(${call}) do t[#t + 1] = k end; table.sort(t); return table.concat(t, ",")`);
}

describe('global dynamic block functions', () => {
  let p: RunningProxy;
  afterEach(async () => p?.stop());

  it('addDynamicBlock with each action: Refused, NXDomain, Truncate (TCP passes), Drop', async () => {
    p = await proxyWith('');
    const refused = await client('127.0.0.4');
    const nx = await client('127.0.0.5');
    const tc = await client('127.0.0.6');
    const dropped = await client('127.0.0.13');
    for (const [addr, action] of [
      ['127.0.0.4', 'Refused'],
      ['127.0.0.5', 'Nxdomain'],
      ['127.0.0.6', 'Truncate'],
      ['127.0.0.13', 'Drop'],
    ]) {
      expect(p.app.runConsoleCommand(`addDynamicBlock("${addr}", "manual ${action}", DNSAction.${action}, 60)`)).toBe('');
    }
    expect((await refused.query(p.port, NAME))?.rcode).toBe('REFUSED');
    expect((await nx.query(p.port, NAME))?.rcode).toBe('NXDOMAIN');
    const truncated = await tc.query(p.port, NAME);
    expect(truncated?.flag_tc).toBe(true);
    expect(truncated?.answers ?? []).toEqual([]);
    const overTcp = await tc.tcpQuery(p.port, NAME);
    expect(overTcp.rcode).toBe('NOERROR');
    expect(overTcp.answers?.length).toBeGreaterThan(0);
    expect(await dropped.query(p.port, NAME, 'A', 300)).toBeUndefined();
    expect(stat(p, 'dyn-blocked')).toBe(4);
    const show = p.app.runConsoleCommand('showDynBlocks()');
    expect(show).toMatch(/127\.0\.0\.4\/32 +(?:59|60) +1 false +Send Refused +manual Refused/);
    expect(show).toMatch(/127\.0\.0\.6\/32 +(?:59|60) +1 false +Truncate over UDP +manual Truncate/);
    expect(
      p.app.runConsoleCommand(
        'local b = getDynamicBlocks()["127.0.0.5/32"]; return b.reason .. "|" .. b.blocks .. "|" .. tostring(b.warning) .. "|" .. b.action',
      ),
    ).toBe('manual Nxdomain|1|false|1\n');
  });

  it('addDynBlocks takes the table exceedQRate() returns', async () => {
    p = await proxyWith(`
      function maintenance() addDynBlocks(exceedQRate(20, 1), "legacy block", 60, DNSAction.Nxdomain) end`);
    const c = await client('127.0.0.14');
    await floodAndTick(p, c, 40);
    expect(p.output).toContain('Inserting dynamic block for 127.0.0.14 for 60 seconds: legacy block');
    expect((await c.query(p.port, NAME))?.rcode).toBe('NXDOMAIN');
  });

  it('addDynBlockSMT blocks names and sub-names; clearDynBlocks lifts everything', async () => {
    p = await proxyWith('');
    const c = await client('127.0.0.15');
    p.app.runConsoleCommand('addDynBlockSMT({"Mail.Example.test"}, "smt legacy", 60, DNSAction.Refused)');
    expect(p.output).toContain('Inserting dynamic block for mail.example.test for 60 seconds: smt legacy');
    expect((await c.query(p.port, 'x.mail.example.test'))?.rcode).toBe('REFUSED');
    expect((await c.query(p.port, NAME))?.rcode).toBe('NOERROR');
    p.app.runConsoleCommand('clearDynBlocks()');
    expect((await c.query(p.port, 'mail.example.test'))?.rcode).toBe('NOERROR');
  });

  it("dnsdist's messages for runtime-only and refused settings", async () => {
    p = await proxyWith(`
      setDynBlocksAction(DNSAction.ServFail)
      dbr = dynBlockRulesGroup()
      dbr:setQueryRate(5, 2, "r", 60)`);
    expect(p.output).toContain('Dynamic blocks action can only be Drop, NoOp, NXDomain, Refused, Truncate or NoRecurse!');
    expect(p.app.runConsoleCommand('setDynBlocksAction(DNSAction.Refused)')).toBe('Dynamic blocks action cannot be altered at runtime!\n');
    expect(p.app.runConsoleCommand('dbr:setMasks(24, 64, 1)')).toMatch(
      /^Error: .*Setting a non-zero port mask for Dynamic Blocks while only considering parts of IPv4 addresses does not make sense/,
    );
    expect(p.app.runConsoleCommand('dbr:toString()')).toBe(
      "Query rate rule: Apply the global DynBlock action for 60 seconds when over 5 during the last 2 seconds, reason: 'r'\nResponse rate rule: \nSuffixMatch rule: \nRCode rules: \nQType rules: \nExcluded Subnets: \nExcluded Domains: \n",
    );
    expect(p.app.runConsoleCommand('dbr:setQueryRate(5, 2, "r", 60, DNSAction.SetTag)')).toMatch(
      /SetTag action passed to DynBlockRulesGroup:setQueryRate without additional parameters/,
    );
    expect(p.app.runConsoleCommand('setDynBlocksKernelOptions{ranges=false, bogus=true}')).toMatch(/unknown option 'bogus'/);
    p.app.runConsoleCommand(
      'local n = newNMG(); n:addMask("10.0.0.0/8"); n:addMask("192.0.2.0/24"); dbr:excludeRange(n); dbr:includeRange("10.1.0.0/16")',
    );
    expect(p.app.runConsoleCommand('dbr:toString()')).toContain('Excluded Subnets: !10.1.0.0/16, 10.0.0.0/8, 192.0.2.0/24\n');
    p.app.runConsoleCommand('dbr:removeRange({"10.1.0.0/16", "10.0.0.0/8"})');
    expect(p.app.runConsoleCommand('dbr:toString()')).toContain('Excluded Subnets: 192.0.2.0/24\n');
    expect(p.app.runConsoleCommand('dbr:setSuffixMatchRuleFFI(10, "r", 60, DNSAction.Drop, function() return false end)')).toBe('');
    expect(p.app.runConsoleCommand('dbr:toString()')).toContain(
      "SuffixMatch rule: Drop for 60 seconds when over 0 during the last 10 seconds, reason: 'r'\n",
    );
  });
});
