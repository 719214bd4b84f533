/**
 * LuaAction, LuaRule and LuaResponseAction from a real configuration: real
 * sockets, real Lua (fengari), a recording backend. Expected behaviour was
 * checked side by side against Debian's dnsdist 1.7.3 (return codes, the
 * optional string, failures logged with SERVFAIL, dq fields).
 */
import * as dnsPacket from 'dns-packet';
import { encodeQuery, udpQuery } from '../support/dns-client.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { answerWithA, startUdpBackend } from '../support/test-backends.js';

/** A backend answering A queries with `address` (TTL 60), remembering what it got. */
async function recordingBackend(address: string) {
  const seen: Array<{ name: string; rd: boolean }> = [];
  const backend = await startUdpBackend((msg) => {
    const q = dnsPacket.decode(msg);
    seen.push({ name: q.questions![0]!.name, rd: ((q.flags ?? 0) & dnsPacket.RECURSION_DESIRED) !== 0 });
    return answerWithA(q, address);
  });
  return { ...backend, seen };
}

const CONFIG = `
setLocal("127.0.0.1:\${PORT}")
newServer{address="127.0.0.1:\${MAIN}", healthCheckMode="up"}
newServer{address="127.0.0.1:\${OTHER}", pool="other", healthCheckMode="up"}
pc = newPacketCache(100)
getPool(""):setCache(pc)

local function code(c, s) return function(dq) return c, s end end
addAction("drop.lua.", LuaAction(code(DNSAction.Drop)))
addAction("nx.lua.", LuaAction(code(DNSAction.Nxdomain)))
addAction("refused.lua.", LuaAction(code(DNSAction.Refused)))
addAction("servfail.lua.", LuaAction(code(DNSAction.ServFail)))
addAction("spoof.lua.", LuaAction(code(DNSAction.Spoof, "192.0.2.7")))
addAction("spoofs.lua.", LuaAction(code(DNSAction.Spoof, "192.0.2.8, 192.0.2.9 not-an-address")))
addAction("cname.lua.", LuaAction(code(DNSAction.Spoof, "target.example.")))
addAction("pool.lua.", LuaAction(code(DNSAction.Pool, "other")))
addAction("tc.lua.", LuaAction(code(DNSAction.Truncate)))
addAction("norec.lua.", LuaAction(code(DNSAction.NoRecurse)))
addAction("headermodify.lua.", LuaAction(function(dq)
  dq.dh:setQR(true)
  dq.rcode = DNSRCode.NOTAUTH
  return DNSAction.HeaderModify
end))
-- None and NoOp go on to the next rule; Allow stops the rules.
addAction({"none.lua.", "noop.lua.", "allow.lua."}, LuaAction(function(dq)
  local n = dq.qname:toString()
  if n == "none.lua." then return DNSAction.None end
  if n == "noop.lua." then return DNSAction.NoOp end
  return DNSAction.Allow
end))
addAction({"none.lua.", "noop.lua.", "allow.lua."}, RCodeAction(DNSRCode.REFUSED))

-- failures: dnsdist logs and answers SERVFAIL
addAction("error.lua.", LuaAction(function(dq) error("boom") end))
addAction("nothing.lua.", LuaAction(function(dq) end))
addAction("nofield.lua.", LuaAction(function(dq) dq.nosuchfield = 1 return DNSAction.Refused end))
addAction("loop.lua.", LuaAction(function(dq) while true do end end))
addAction(LuaRule(function(dq) if dq.qname:toString() == "ruleloop.lua." then while true do end end return false end), DropAction())
addAction("readonly.lua.", LuaAction(function(dq) dq.qtype = 5 return DNSAction.Refused end))

-- the DNSQuestion's fields
addAction("fields.lua.", LuaAction(function(dq)
  seen = {
    qname = dq.qname:toString(), qtype = dq.qtype, qclass = dq.qclass, len = dq.len, tcp = dq.tcp,
    remote = dq.remoteaddr:toString(), localaddr = dq.localaddr:toString(), opcode = dq.opcode, rcode = dq.rcode,
    rd = dq.dh:getRD(), qr = dq.dh:getQR(), skipCache = dq.skipCache, useECS = dq.useECS, ecsOverride = dq.ecsOverride,
    ecsPrefixLength = dq.ecsPrefixLength, tempFailureTTL = dq.tempFailureTTL, DO = dq:getDO(), protocol = dq:getProtocol(),
    sni = dq:getServerNameIndication(), missingTag = dq:getTag("nope"), name = tostring(dq),
  }
  kept = dq
  return DNSAction.Refused
end))
addAction("tags.lua.", LuaAction(function(dq)
  dq:setTag("colour", "blue")
  dq:setTagArray({shape = "round"})
  local t = dq:getTagArray()
  tagsSeen = t.colour .. "," .. t.shape
  return DNSAction.None
end))
addAction(TagRule("colour", "blue"), RCodeAction(DNSRCode.NXDOMAIN))
addAction("skipcache.lua.", LuaAction(function(dq) dq.skipCache = true return DNSAction.None end))
addAction("dqspoof.lua.", LuaAction(function(dq) dq:spoof({newCA("192.0.2.33"), newCA("2001:db8::33")}) return DNSAction.HeaderModify end))

-- LuaRule
addAction(LuaRule(function(dq) return dq.qname:toString() == "rule.lua." end), RCodeAction(DNSRCode.REFUSED))
addAction(LuaRule(function(dq) if dq.qname:toString() == "ruleerror.lua." then error("rule boom") end return false end), DropAction())
addAction(LuaRule(function(dq) if dq.qname:toString() == "rulenumber.lua." then return 1 end return false end), DropAction())

-- LuaResponseAction
addResponseAction("ttl.lua.", LuaResponseAction(function(dr)
  dr:editTTLs(function(section, qclass, qtype, ttl) return ttl == 60 and 7 or nil end)
  responseSeen = dr.rcode .. "," .. dr.qtype .. "," .. tostring(dr.dh:getQR())
  return DNSResponseAction.None
end))
addResponseAction("rdrop.lua.", LuaResponseAction(function(dr) return DNSResponseAction.Drop end))
addResponseAction("rservfail.lua.", LuaResponseAction(function(dr) return DNSResponseAction.ServFail end))
addResponseAction("rerror.lua.", LuaResponseAction(function(dr) error("response boom") end))
addResponseAction("rallow.lua.", LuaResponseAction(function(dr) return DNSResponseAction.Allow end))
addResponseAction("rallow.lua.", DropResponseAction())
addResponseAction(LuaRule(function(dr) return dr.qname:toString() == "rrule.lua." and dr.dh:getQR() end), DropResponseAction())
`;

describe('Lua rule functions (LuaAction, LuaRule, LuaResponseAction)', () => {
  let main: Awaited<ReturnType<typeof recordingBackend>>;
  let other: Awaited<ReturnType<typeof recordingBackend>>;
  let proxy: RunningProxy;
  const lua = (expr: string): unknown => proxy.app.runtime.runString(`return ${expr}`)[0];

  beforeAll(async () => {
    main = await recordingBackend('192.0.2.1');
    other = await recordingBackend('192.0.2.99');
    proxy = await startProxy(CONFIG, { MAIN: main.port, OTHER: other.port });
  });
  afterAll(async () => {
    await proxy?.stop();
    await main?.close();
    await other?.close();
  });

  it('DNSAction.Drop drops and counts rule-drop', async () => {
    const before = proxy.app.proxy.counters.ruleDrop;
    expect(await udpQuery(proxy.port, 'drop.lua', { timeoutMs: 300 })).toBeUndefined();
    expect(proxy.app.proxy.counters.ruleDrop - before).toBe(1);
  });

  it.each([
    ['nx.lua', 'NXDOMAIN'],
    ['refused.lua', 'REFUSED'],
    ['servfail.lua', 'SERVFAIL'],
  ])('%s answers %s', async (name, rcode) => {
    expect((await udpQuery(proxy.port, name))?.rcode).toBe(rcode);
  });

  it('DNSAction.Spoof with an address, with a list (skipping what does not parse), with a name', async () => {
    expect((await udpQuery(proxy.port, 'spoof.lua'))?.answers?.map((a) => a.data)).toEqual(['192.0.2.7']);
    expect(((await udpQuery(proxy.port, 'spoofs.lua'))?.answers?.map((a) => a.data) ?? []).sort()).toEqual(['192.0.2.8', '192.0.2.9']);
    const cname = await udpQuery(proxy.port, 'cname.lua');
    expect(cname?.answers?.[0]).toMatchObject({ type: 'CNAME', data: 'target.example' });
  });

  it('DNSAction.Pool sends the query to the named pool', async () => {
    expect((await udpQuery(proxy.port, 'pool.lua'))?.answers?.[0]?.data).toBe('192.0.2.99');
  });

  it('DNSAction.Truncate answers TC=1 over UDP', async () => {
    const before = proxy.app.proxy.counters.ruleTruncated;
    expect((await udpQuery(proxy.port, 'tc.lua'))?.flag_tc).toBe(true);
    expect(proxy.app.proxy.counters.ruleTruncated - before).toBe(1);
  });

  it('DNSAction.NoRecurse clears RD before the backend sees the query', async () => {
    await udpQuery(proxy.port, 'norec.lua');
    expect(main.seen.filter((s) => s.name === 'norec.lua').map((s) => s.rd)).toEqual([false]);
  });

  it('DNSAction.HeaderModify with dq.dh:setQR(true) and dq.rcode = ... answers with that header', async () => {
    expect((await udpQuery(proxy.port, 'headermodify.lua'))?.rcode).toBe('NOTAUTH');
  });

  it('None and NoOp go on to the next rule; Allow stops the rules and forwards', async () => {
    expect((await udpQuery(proxy.port, 'none.lua'))?.rcode).toBe('REFUSED');
    expect((await udpQuery(proxy.port, 'noop.lua'))?.rcode).toBe('REFUSED');
    expect((await udpQuery(proxy.port, 'allow.lua'))?.answers?.[0]?.data).toBe('192.0.2.1');
  });

  it('a function that raises, or returns no action code, is logged and answered SERVFAIL; the proxy goes on', async () => {
    expect((await udpQuery(proxy.port, 'error.lua'))?.rcode).toBe('SERVFAIL');
    expect(proxy.output.some((l) => /^LuaAction failed inside Lua, returning ServFail: .*boom/.test(l))).toBe(true);
    expect((await udpQuery(proxy.port, 'nothing.lua'))?.rcode).toBe('SERVFAIL');
    expect(proxy.output.some((l) => /LuaAction failed inside Lua.*must return a DNSAction code first.*got nil/.test(l))).toBe(true);
    expect((await udpQuery(proxy.port, 'nofield.lua'))?.rcode).toBe('SERVFAIL');
    expect(proxy.output.some((l) => /DNSQuestion has no field 'nosuchfield'/.test(l))).toBe(true);
    expect((await udpQuery(proxy.port, 'spoof.lua'))?.answers?.[0]?.data).toBe('192.0.2.7');
  });

  it('a function that never returns is stopped after the time limit, logged, and the proxy keeps answering', async () => {
    expect((await udpQuery(proxy.port, 'loop.lua', { timeoutMs: 5000 }))?.rcode).toBe('SERVFAIL');
    expect(proxy.output.some((l) => /^LuaAction failed inside Lua, returning ServFail: .*ran for more than 1000 ms/.test(l))).toBe(true);
    expect((await udpQuery(proxy.port, 'ruleloop.lua', { timeoutMs: 5000 }))?.answers?.[0]?.data).toBe('192.0.2.1');
    expect(proxy.output.some((l) => /^LuaRule failed inside Lua: .*ran for more than 1000 ms/.test(l))).toBe(true);
    expect((await udpQuery(proxy.port, 'spoof.lua'))?.answers?.[0]?.data).toBe('192.0.2.7');
    expect(lua('1 + 1')).toBe(2);
  });

  it('assigning a read-only field is ignored (as dnsdist does) and logged once', async () => {
    expect((await udpQuery(proxy.port, 'readonly.lua'))?.rcode).toBe('REFUSED');
    expect((await udpQuery(proxy.port, 'readonly.lua'))?.rcode).toBe('REFUSED');
    expect(proxy.output.filter((l) => l.includes('DNSQuestion.qtype is read-only')).length).toBe(1);
  });

  it('dq exposes the query fields dnsdist 1.7 documents', async () => {
    await udpQuery(proxy.port, 'fields.lua', { type: 'AAAA' });
    expect(lua('seen.qname')).toBe('fields.lua.');
    expect(lua('seen.qtype')).toBe(28);
    expect(lua('seen.qclass')).toBe(1);
    expect(lua('seen.len')).toBe(encodeQuery('fields.lua', { type: 'AAAA' }).length);
    expect(lua('seen.tcp')).toBe(false);
    expect(lua('seen.remote')).toBe('127.0.0.1');
    expect(lua('seen.localaddr')).toBe('127.0.0.1');
    expect(lua('seen.opcode')).toBe(0);
    expect(lua('seen.rcode')).toBe(0);
    expect(lua('seen.rd')).toBe(true);
    expect(lua('seen.qr')).toBe(false);
    expect(lua('seen.skipCache')).toBe(false);
    expect(lua('seen.useECS')).toBe(true);
    expect(lua('seen.ecsOverride')).toBe(false);
    expect(lua('seen.ecsPrefixLength')).toBe(24);
    expect(lua('seen.tempFailureTTL')).toBeUndefined();
    expect(lua('seen.DO')).toBe(false);
    expect(lua('seen.protocol')).toBe('Do53 UDP');
    expect(lua('seen.sni')).toBe('');
    expect(lua('seen.missingTag')).toBe('');
    expect(lua('seen.name')).toBe('DNSQuestion');
  });

  it('a dq kept past its call raises a clear error instead of showing stale data', async () => {
    await udpQuery(proxy.port, 'fields.lua');
    expect(() => lua('kept.qtype')).toThrow(/only valid during the call that received it/);
  });

  it('dq:setTag / setTagArray / getTagArray, and TagRule sees tags set from Lua', async () => {
    expect((await udpQuery(proxy.port, 'tags.lua'))?.rcode).toBe('NXDOMAIN');
    expect(lua('tagsSeen')).toBe('blue,round');
  });

  it('dq.skipCache = true bypasses the packet cache', async () => {
    for (let i = 0; i < 2; i++) await udpQuery(proxy.port, 'skipcache.lua');
    for (let i = 0; i < 2; i++) await udpQuery(proxy.port, 'cached.lua');
    expect(main.seen.filter((s) => s.name === 'skipcache.lua').length).toBe(2);
    expect(main.seen.filter((s) => s.name === 'cached.lua').length).toBe(1);
  });

  it('dq:spoof({addresses}) answers with the addresses of the query type', async () => {
    expect((await udpQuery(proxy.port, 'dqspoof.lua', { type: 'AAAA' }))?.answers?.map((a) => a.data)).toEqual(['2001:db8::33']);
  });

  it('LuaRule matches when its function returns true', async () => {
    expect((await udpQuery(proxy.port, 'rule.lua'))?.rcode).toBe('REFUSED');
  });

  it('a LuaRule that raises or returns a non-boolean is logged and does not match', async () => {
    expect((await udpQuery(proxy.port, 'ruleerror.lua'))?.answers?.[0]?.data).toBe('192.0.2.1');
    expect(proxy.output.some((l) => /^LuaRule failed inside Lua: .*rule boom/.test(l))).toBe(true);
    expect((await udpQuery(proxy.port, 'rulenumber.lua'))?.answers?.[0]?.data).toBe('192.0.2.1');
    expect(proxy.output.some((l) => /^LuaRule failed inside Lua: the function must return true or false, got number/.test(l))).toBe(true);
  });

  it('LuaResponseAction: dr:editTTLs rewrites TTLs, dr fields read the response', async () => {
    const a = await udpQuery(proxy.port, 'ttl.lua');
    expect(a?.answers?.[0]?.ttl).toBe(7);
    expect(lua('responseSeen')).toBe('0,1,true');
  });

  it('LuaResponseAction: Drop drops, ServFail answers SERVFAIL, a raising function answers SERVFAIL, Allow stops the chain', async () => {
    expect(await udpQuery(proxy.port, 'rdrop.lua', { timeoutMs: 300 })).toBeUndefined();
    expect((await udpQuery(proxy.port, 'rservfail.lua'))?.rcode).toBe('SERVFAIL');
    expect((await udpQuery(proxy.port, 'rerror.lua'))?.rcode).toBe('SERVFAIL');
    expect(proxy.output.some((l) => /^LuaResponseAction failed inside Lua, returning ServFail: .*response boom/.test(l))).toBe(true);
    expect((await udpQuery(proxy.port, 'rallow.lua'))?.answers?.[0]?.data).toBe('192.0.2.1');
  });

  it('a LuaRule on the response chain receives the response (dr)', async () => {
    expect(await udpQuery(proxy.port, 'rrule.lua', { timeoutMs: 300 })).toBeUndefined();
  });

  it('showRules / showResponseRules describe Lua rules and actions as dnsdist 1.7.3 does', () => {
    const rules = proxy.app.runtime.runConsoleLine('showRules()', () => undefined);
    expect(rules).toMatch(/ qname in drop\.lua\. +Lua script\n/);
    expect(rules).toMatch(/ Lua script +set rcode 5\n/);
    const responseRules = proxy.app.runtime.runConsoleLine('showResponseRules()', () => undefined);
    expect(responseRules).toMatch(/ qname in ttl\.lua\. +Lua response script\n/);
    expect(responseRules).toMatch(/ Lua script +drop\n/);
  });
});
