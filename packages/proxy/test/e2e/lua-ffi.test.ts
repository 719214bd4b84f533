/**
 * dnsdist's LuaFFI* functions from a real configuration: real sockets, real
 * Lua (fengari) with the `ffi` compatibility module, real backends.
 * LuaFFIAction / LuaFFIRule / LuaFFIResponseAction, their PerThread forms
 * (code in a Lua state of its own), FFI server policies, and the errors a
 * configuration gets for PerThread code that does not give a function.
 */
import * as dnsPacket from 'dns-packet';
import { tcpQuery, udpQuery } from '../support/dns-client.js';
import { loadConfigurationOutput, startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { answerWithA, startUdpBackend, type TestBackend } from '../support/test-backends.js';

const backend = (address: string): Promise<TestBackend> => startUdpBackend((msg) => answerWithA(dnsPacket.decode(msg), address));

const CONFIG = `
setLocal("127.0.0.1:\${PORT}")
newServer{address="127.0.0.1:\${B1}", name="one", healthCheckMode="up"}
newServer{address="127.0.0.1:\${B2}", name="two", healthCheckMode="up"}
local ffi = require("ffi")

-- the qname as dnsdist's FFI gives it: wire form through an out-parameter
local function qname(dq)
  local ptr = ffi.new("char *[1]")
  local size = ffi.new("size_t[1]")
  ffi.C.dnsdist_ffi_dnsquestion_get_qname_raw(dq, ffi.cast("const char **", ptr), ffi.cast("size_t*", size))
  return ffi.string(ptr[0], size[0])
end

addAction(AllRule(), LuaFFIAction(function(dq)
  ffi.C.dnsdist_ffi_dnsquestion_set_tag(dq, "seen-by", "ffi")
  return DNSAction.None
end))
addAction(LuaFFIRule(function(dq)
  local tag = ffi.C.dnsdist_ffi_dnsquestion_get_tag(dq, "seen-by")
  return qname(dq) == "\\5spoof\\3ffi\\0" and tag ~= nil and ffi.string(tag) == "ffi"
end), LuaFFIAction(function(dq)
  local str = "192.0.2.77"
  local buf = ffi.new("char[?]", #str + 1)
  ffi.copy(buf, str)
  ffi.C.dnsdist_ffi_dnsquestion_set_result(dq, buf, #str)
  return DNSAction.Spoof
end))
addAction("refused.ffi.", LuaFFIAction(function(dq)
  ffi.C.dnsdist_ffi_dnsquestion_set_rcode(dq, DNSRCode.REFUSED)
  return DNSAction.Refused
end))
addAction("broken.ffi.", LuaFFIAction(function(dq) return ffi.C.dnsdist_ffi_no_such_function(dq) end))
addAction(LuaFFIPerThreadRule([[
  local ffi = require("ffi")
  return function(dq) return ffi.C.dnsdist_ffi_dnsquestion_get_qtype(dq) == DNSQType.TXT end
]]), LuaFFIPerThreadAction([[
  local ffi = require("ffi")
  local calls = 0
  return function(dq)
    calls = calls + 1
    ffi.C.dnsdist_ffi_dnsquestion_set_rcode(dq, DNSRCode.NXDOMAIN)
    return DNSAction.Nxdomain
  end
]]))
addAction("perthread-global.ffi.", LuaFFIPerThreadAction([[
  -- its own state: the configuration's globals are not there
  return function(dq) if qname == nil and addAction == nil then return DNSAction.Refused end return DNSAction.Drop end
]]))
addResponseAction("ttl.ffi.", LuaFFIResponseAction(function(dr)
  ffi.C.dnsdist_ffi_dnsresponse_set_max_ttl(dr, 9)
  return DNSResponseAction.None
end))
addResponseAction("ttl-perthread.ffi.", LuaFFIPerThreadResponseAction([[
  local ffi = require("ffi")
  return function(dr) ffi.C.dnsdist_ffi_dnsresponse_set_max_ttl(dr, 4) return DNSResponseAction.None end
]]))

-- round robin over the servers, counted in the policy's own state
setServerPolicyLuaFFIPerThread("ffiroundrobin", [[
  local ffi = require("ffi")
  local counter = 0
  return function(servers_list, dq)
    counter = counter + 1
    return counter % tonumber(ffi.C.dnsdist_ffi_servers_list_get_count(servers_list))
  end
]])
`;

describe('LuaFFI* from a configuration', () => {
  const backends: TestBackend[] = [];
  let proxy: RunningProxy;

  beforeAll(async () => {
    backends.push(await backend('192.0.2.1'), await backend('192.0.2.2'));
    proxy = await startProxy(CONFIG, { B1: backends[0]!.port, B2: backends[1]!.port });
  });
  afterAll(async () => {
    await proxy?.stop();
    for (const b of backends) await b.close();
  });

  it('LuaFFIRule reads the wire qname and a tag an earlier LuaFFIAction set; LuaFFIAction spoofs with set_result, over UDP and TCP', async () => {
    expect((await udpQuery(proxy.port, 'spoof.ffi'))?.answers?.[0]?.data).toBe('192.0.2.77');
    expect((await tcpQuery(proxy.port, 'spoof.ffi')).answers?.[0]?.data).toBe('192.0.2.77');
  });

  it('set_rcode with DNSAction.Refused answers REFUSED; a failing FFI function answers SERVFAIL and is logged with its reason', async () => {
    expect((await udpQuery(proxy.port, 'refused.ffi'))?.rcode).toBe('REFUSED');
    expect((await udpQuery(proxy.port, 'broken.ffi'))?.rcode).toBe('SERVFAIL');
    expect(proxy.output.join('\n')).toMatch(
      /LuaFFIAction failed inside Lua, returning ServFail: .*ffi\.C\.dnsdist_ffi_no_such_function: missing declaration for symbol/,
    );
  });

  it('the PerThread forms run their code in a Lua state of their own', async () => {
    expect((await udpQuery(proxy.port, 'txt.ffi', { type: 'TXT' }))?.rcode).toBe('NXDOMAIN');
    expect((await udpQuery(proxy.port, 'perthread-global.ffi'))?.rcode).toBe('REFUSED');
  });

  it('LuaFFIResponseAction and its PerThread form change the backend answer', async () => {
    expect((await udpQuery(proxy.port, 'ttl.ffi'))?.answers?.[0]?.ttl).toBe(9);
    expect((await udpQuery(proxy.port, 'ttl-perthread.ffi'))?.answers?.[0]?.ttl).toBe(4);
  });

  it('setServerPolicyLuaFFIPerThread: the returned 0-based index picks the server (round robin here)', async () => {
    const seen = new Set<unknown>();
    for (let i = 0; i < 4; i++) seen.add((await udpQuery(proxy.port, `rr${i}.policy.ffi`))?.answers?.[0]?.data);
    expect([...seen].sort()).toEqual(['192.0.2.1', '192.0.2.2']);
  });
});

describe('FFI server policies set from the console', () => {
  const backends: TestBackend[] = [];
  let proxy: RunningProxy;

  beforeAll(async () => {
    backends.push(await backend('192.0.2.11'), await backend('192.0.2.12'));
    proxy = await startProxy(
      `setLocal("127.0.0.1:\${PORT}")
       newServer{address="127.0.0.1:\${B1}", healthCheckMode="up"}
       newServer{address="127.0.0.1:\${B2}", pool="p", healthCheckMode="up"}
       addAction("pool.ffi.", PoolAction("p"))`,
      { B1: backends[0]!.port, B2: backends[1]!.port },
    );
  });
  afterAll(async () => {
    await proxy?.stop();
    for (const b of backends) await b.close();
  });

  it('require("ffi") works in the console too', () => {
    expect(proxy.app.runConsoleCommand('require("ffi").sizeof("dnsdist_ffi_raw_value_t")')).toBe('16\n');
  });

  it('setServerPolicyLuaFFI and setPoolServerPolicyLuaFFIPerThread: an index past the list selects no server', async () => {
    // The console's own path: its reply waits until every worker runs the change (runConsoleCommand does not wait).
    expect(await proxy.app.runConsoleCommandSliced('setServerPolicyLuaFFI("none", function(list, dq) return 5 end)')).toBe('');
    expect(await udpQuery(proxy.port, 'default.ffi', { timeoutMs: 500 })).toBeUndefined();
    expect(
      await proxy.app.runConsoleCommandSliced('setPoolServerPolicyLuaFFIPerThread("first", "return function(list, dq) return 0 end", "p")'),
    ).toBe('');
    expect((await udpQuery(proxy.port, 'pool.ffi'))?.answers?.[0]?.data).toBe('192.0.2.12');
    expect(await proxy.app.runConsoleCommandSliced('setServerPolicyLuaFFI("first", function(list, dq) return 0 end)')).toBe('');
    expect((await udpQuery(proxy.port, 'default.ffi'))?.answers?.[0]?.data).toBe('192.0.2.11');
  });
});

describe('LuaFFI* configuration errors', () => {
  it('PerThread code that does not return a function, or does not run, stops the configuration with the reason', async () => {
    await expect(loadConfigurationOutput('addAction(AllRule(), LuaFFIPerThreadAction("return 42"))')).rejects.toThrow(
      /LuaFFIPerThreadAction: the code must return a function .*it returned number/,
    );
    await expect(loadConfigurationOutput('addAction(AllRule(), LuaFFIPerThreadRule("return function(dq"))')).rejects.toThrow(
      /LuaFFIPerThreadRule: the code failed to run in its own Lua state/,
    );
  });

  it('ffi.cdef with a declaration it cannot read fails the configuration, quoting it', async () => {
    await expect(loadConfigurationOutput('local ffi = require("ffi")\nffi.cdef[[ int (*broken; ]]')).rejects.toThrow(
      /dnsdist\.conf:2: ffi\.cdef: cannot read 'int \(\*broken'/,
    );
  });
});
