/**
 * Server policies written in Lua (newServerPolicy, setServerPolicyLua,
 * setPoolServerPolicyLua) with real backends and real Lua.
 */
import * as dnsPacket from 'dns-packet';
import { udpQuery } from '../support/dns-client.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { answerWithA, startUdpBackend, type TestBackend } from '../support/test-backends.js';

/** A backend answering every A query with `address`. */
const backend = (address: string): Promise<TestBackend> => startUdpBackend((msg) => answerWithA(dnsPacket.decode(msg), address));

describe('Lua server policies', () => {
  const backends: Array<Awaited<ReturnType<typeof backend>>> = [];
  let proxy: RunningProxy;

  beforeAll(async () => {
    for (const a of ['192.0.2.1', '192.0.2.2', '192.0.2.3']) backends.push(await backend(a));
    proxy = await startProxy(
      `setLocal("127.0.0.1:\${PORT}")
       setServFailWhenNoServer(true)
       newServer{address="127.0.0.1:\${B1}", name="first", healthCheckMode="up"}
       newServer{address="127.0.0.1:\${B2}", name="second", healthCheckMode="up"}
       newServer{address="127.0.0.1:\${B3}", name="third", pool="p", healthCheckMode="up"}
       function byName(servers, dq)
         local n = dq.qname:toString()
         policyCalls = (policyCalls or 0) + 1
         serverCount = #servers
         if n:find("^second") then return servers[2] end
         if n:find("^none") then return nil end
         if n:find("^broken") then error("policy boom") end
         if n:find("^wrong") then return "not a server" end
         return servers[1]
       end
       setServerPolicyLua("byName", byName)
       setPoolServerPolicyLua("poolPolicy", function(servers, dq) poolSeen = servers[1]:getName() return servers[1] end, "p")
       addAction("pool.test.", PoolAction("p"))
       named = newServerPolicy("named", byName)`,
      { B1: backends[0]!.port, B2: backends[1]!.port, B3: backends[2]!.port },
    );
  });
  afterAll(async () => {
    await proxy?.stop();
    for (const b of backends) await b.close();
  });
  const lua = (expr: string): unknown => proxy.app.runtime.runString(`return ${expr}`)[0];

  it('the function picks the backend from the servers it is given, with dq', async () => {
    expect((await udpQuery(proxy.port, 'first.test'))?.answers?.[0]?.data).toBe('192.0.2.1');
    expect((await udpQuery(proxy.port, 'second.test'))?.answers?.[0]?.data).toBe('192.0.2.2');
    expect(lua('serverCount')).toBe(2);
  });

  it('setPoolServerPolicyLua sets the policy of one pool', async () => {
    expect((await udpQuery(proxy.port, 'pool.test'))?.answers?.[0]?.data).toBe('192.0.2.3');
    expect(lua('poolSeen')).toBe('third');
  });

  it('nil, an error or a non-server means no server: SERVFAIL here (setServFailWhenNoServer), the failures logged', async () => {
    expect((await udpQuery(proxy.port, 'none.test'))?.rcode).toBe('SERVFAIL');
    expect((await udpQuery(proxy.port, 'broken.test'))?.rcode).toBe('SERVFAIL');
    expect(proxy.output.some((l) => /^Lua server policy 'byName' failed: .*policy boom/.test(l))).toBe(true);
    expect((await udpQuery(proxy.port, 'wrong.test'))?.rcode).toBe('SERVFAIL');
    expect(proxy.output.some((l) => /must return a server \(one of the servers it was given\) or nil/.test(l))).toBe(true);
    expect((await udpQuery(proxy.port, 'first.test'))?.answers?.[0]?.data).toBe('192.0.2.1');
  });

  it('newServerPolicy makes a policy value setServerPolicy accepts; showServerPolicy prints its name', () => {
    expect(proxy.app.runtime.runConsoleLine('setServerPolicy(named) showServerPolicy()', () => undefined)).toBe('named\n');
  });
});
