/**
 * The same Lua rule functions run by Debian's dnsdist 1.7.3 and by
 * dnsdist-ts, the same queries sent to both: the answers must match
 * (RCODE, header flags, answer records). Covers the return conventions,
 * failures, and dq fields read from Lua.
 */
import { describeDnsdist } from '../../../../test/support/dnsdist.js';
import { encodeQuery, udpExchange } from '../support/dns-client.js';
import type { RunningProxy } from '../support/proxy-harness.js';
import { answerSummary, queryWithOptions, startSideBySide, type SideBySide } from './lua-parity-fixtures.js';

const RULES = `
local function code(c, s) return function(dq) return c, s end end
addAction("nx.parity.", LuaAction(code(DNSAction.Nxdomain)))
addAction("refused.parity.", LuaAction(code(DNSAction.Refused, "")))
addAction("servfail.parity.", LuaAction(code(DNSAction.ServFail)))
addAction("spoof.parity.", LuaAction(code(DNSAction.Spoof, "192.0.2.7")))
addAction("spoofs.parity.", LuaAction(code(DNSAction.Spoof, "192.0.2.8, 192.0.2.9 bad")))
addAction("cname.parity.", LuaAction(code(DNSAction.Spoof, "target.example.")))
addAction("error.parity.", LuaAction(function(dq) error("boom") end))
addAction("nothing.parity.", LuaAction(function(dq) end))
addAction("string.parity.", LuaAction(function(dq) return "x" end))
addAction("nofield.parity.", LuaAction(function(dq) dq.nosuchfield = 1 return DNSAction.Refused end))
addAction("readonly.parity.", LuaAction(function(dq) dq.qtype = 5 return DNSAction.Refused end))
addAction("headermodify.parity.", LuaAction(function(dq) dq.dh:setQR(true) dq.rcode = DNSRCode.NOTAUTH return DNSAction.HeaderModify end))
addAction("fields.parity.", LuaAction(function(dq)
  local t = table.concat({ dq.qtype, dq.qclass, dq.opcode, dq.rcode, tostring(dq.tcp), tostring(dq.dh:getRD()),
    tostring(dq.skipCache), tostring(dq.useECS), tostring(dq.ecsOverride), dq.ecsPrefixLength, tostring(dq.tempFailureTTL),
    tostring(dq:getDO()), dq:getProtocol():gsub(" ", "-"), "tag" .. dq:getTag("nope"), dq.remoteaddr:toString(), dq.len }, ".")
  return DNSAction.Spoof, t .. ".fields."
end))
addAction("opts.parity.", LuaAction(function(dq)
  local opts = dq:getEDNSOptions()
  local codes = {}
  for code, _ in pairs(opts) do codes[#codes + 1] = code end
  table.sort(codes)
  local parts = {}
  for _, code in ipairs(codes) do
    local o = opts[code]
    local bytes = {}
    for _, v in ipairs(o:getValues()) do
      for i = 1, #v do bytes[#bytes + 1] = string.byte(v, i) end
    end
    parts[#parts + 1] = "o" .. code .. "-" .. o:count() .. "-" .. table.concat(bytes, "-")
  end
  return DNSAction.Spoof, table.concat(parts, ".") .. ".opts."
end))
addAction("gettrail.parity.", LuaAction(function(dq)
  local t = dq:getTrailingData()
  return DNSAction.Spoof, "len" .. #t .. "-" .. dq.len .. "-" .. (t == "abc" and "abc" or "x") .. ".trail."
end))
addAction("settrail.parity.", LuaAction(function(dq)
  local ok = dq:setTrailingData("wxyz")
  local t = dq:getTrailingData()
  return DNSAction.Spoof, tostring(ok) .. "-" .. t .. "-" .. dq.len .. ".trail."
end))
addAction("trailmax.parity.", LuaAction(function(dq)
  local ok = dq:setTrailingData(string.rep("A", 4096 - dq.len))
  return DNSAction.Spoof, tostring(ok) .. "-" .. dq.len .. ".trail."
end))
addAction("trailover.parity.", LuaAction(function(dq)
  local ok = dq:setTrailingData(string.rep("A", 4096 - dq.len + 1))
  return DNSAction.Spoof, tostring(ok) .. "-" .. dq.len .. ".trail."
end))
addAction("spoofmulti.parity.", LuaAction(function(dq) dq:spoof({ newCA("192.0.2.1"), newCA("192.0.2.2") }) return DNSAction.HeaderModify end))
addAction("spoofraw.parity.", LuaAction(function(dq) dq:spoof({ "\\192\\000\\002\\001", "\\192\\000\\002\\002" }) return DNSAction.HeaderModify end))
addAction("rawcode.parity.", LuaAction(code(DNSAction.SpoofRaw, "\\192\\000\\002\\001,\\192\\000\\002\\002")))
addAction("rawcodeaa.parity.", LuaAction(function(dq) dq.dh:setAA(true) return DNSAction.SpoofRaw, "\\192\\000\\002\\003" end))
addAction("rawcodeempty.parity.", LuaAction(code(DNSAction.SpoofRaw, "")))
addAction("tags.parity.", LuaAction(function(dq) dq:setTag("k", "v") return DNSAction.None end))
addAction(TagRule("k", "v"), RCodeAction(DNSRCode.NOTIMP))
addAction(LuaRule(function(dq) return dq.qname:toString() == "rule.parity." end), RCodeAction(DNSRCode.REFUSED))
addAction(LuaRule(function(dq) if dq.qname:toString() == "ruleerror.parity." then error("x") end return false end), DropAction())
addAction("ruleerror.parity.", RCodeAction(DNSRCode.NXDOMAIN))
addAction("respservfail.parity.", SpoofAction("192.0.2.44"))
addSelfAnsweredResponseAction("respservfail.parity.", LuaResponseAction(function(dr) return DNSResponseAction.ServFail end))
addAction("ttl.parity.", SpoofAction("192.0.2.45"))
addSelfAnsweredResponseAction("ttl.parity.", LuaResponseAction(function(dr)
  dr:editTTLs(function(section, qclass, qtype, ttl) return ttl + 5 end)
  return DNSResponseAction.None
end))
`;

const NAMES = [
  'nx',
  'refused',
  'servfail',
  'spoof',
  'spoofs',
  'cname',
  'error',
  'nothing',
  'string',
  'nofield',
  'readonly',
  'headermodify',
  'fields',
  'tags',
  'spoofmulti',
  'spoofraw',
  'rawcode',
  'rawcodeaa',
  'rawcodeempty',
  'opts',
  'gettrail',
  'settrail',
  'trailmax',
  'trailover',
  'rule',
  'ruleerror',
  'respservfail',
  'ttl',
];

describeDnsdist('Lua rule functions: dnsdist-ts answers as dnsdist 1.7.3 does', () => {
  let sides: SideBySide;
  let dnsdistPort: number;
  let proxy: RunningProxy;

  beforeAll(async () => {
    sides = await startSideBySide(RULES);
    ({ dnsdistPort, proxy } = sides);
  });
  afterAll(async () => {
    await sides?.stop();
  });

  it.each(NAMES)('%s.parity', async (name) => {
    let query = name === 'opts' ? queryWithOptions(`${name}.parity`) : encodeQuery(`${name}.parity`, { id: 4242 });
    if (name.endsWith('trail')) query = Buffer.concat([query, Buffer.from('abc')]);
    const theirs = answerSummary(await udpExchange(dnsdistPort, query, 3000));
    const ours = answerSummary(await udpExchange(proxy.port, query, 3000));
    expect(ours).toEqual(theirs);
  });
});
