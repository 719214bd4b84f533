/**
 * What dnsdist counts once per process stays once per process with two
 * data-plane workers (workers/shared-process-counts.ts): a worker that
 * dies takes its TCP connections off the per-client
 * (setMaxTCPConnectionsPerClient) and per-listener
 * (maxConcurrentTCPConnections) counts, so that its replacement and the
 * other worker accept that client again. (The limits themselves, and the
 * roundrobin position, are checked by e2e/tcp-limits.test.ts and
 * e2e/backends.test.ts, which run with two workers in `make test`'s second
 * pass.) setMaxTCPClientThreads(n) leaves TCP to the first n workers, as
 * dnsdist's TCP worker threads, so that per-thread Lua state (a
 * LuaFFIPerThread policy's counter) sees every TCP query as it would there.
 * The workers run the built code (dist/): `make` first.
 */
import * as dnsPacket from 'dns-packet';
import { requireBuiltCli } from '../cli/cli-process.js';
import { tcpQuery, waitFor } from '../support/dns-client.js';
import { heldConnection } from '../support/held-connection.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { answerWithA, startUdpTcpBackend, type TestBackend } from '../support/test-backends.js';

describe('TCP connection limits across two workers', () => {
  let backend: TestBackend;
  let proxy: RunningProxy;

  beforeAll(async () => {
    requireBuiltCli();
    backend = await startUdpTcpBackend((q) => answerWithA(dnsPacket.decode(q), '192.0.2.7'));
    proxy = await startProxy(
      `newServer{address="127.0.0.1:\${BACKEND}"}
       setLocal("127.0.0.1:\${PORT}", {maxConcurrentTCPConnections=1})
       setMaxTCPConnectionsPerClient(1)`,
      { BACKEND: backend.port },
      { workers: 2 },
    );
  }, 30_000);

  afterAll(async () => {
    await proxy?.stop();
    await backend?.close();
  });

  it('a worker that dies takes its connections off the per-client and per-listener counts', async () => {
    const pool = proxy.app.workers!;
    const held = await heldConnection(proxy.port, 'held.example.');
    const closed = new Promise((r) => held.once('close', r));
    // Counted once for the process: a second connection is refused in either worker.
    for (let i = 0; i < 4; i++) await expect(tcpQuery(proxy.port, 'refused.example.')).rejects.toThrow(/connection closed|ECONNRESET/);
    // Whichever worker holds the connection dies with it; both are restarted.
    const threads = pool.status().map((s) => s.threadId);
    await pool.terminate(0);
    await pool.terminate(1);
    await closed;
    await waitFor('both restarts', () => pool.status().every((s, i) => s.state === 'running' && s.threadId !== threads[i]), 20_000);
    // Its count is back to 0: one connection is accepted again, and it counts (a second is refused).
    const again = await heldConnection(proxy.port, 'held.example.');
    try {
      for (let i = 0; i < 4; i++) await expect(tcpQuery(proxy.port, 'refused.example.')).rejects.toThrow(/connection closed|ECONNRESET/);
    } finally {
      again.destroy();
    }
  }, 40_000);
});

describe('setMaxTCPClientThreads(1) with two workers', () => {
  let backends: TestBackend[];
  let proxy: RunningProxy;

  beforeAll(async () => {
    requireBuiltCli();
    backends = [
      await startUdpTcpBackend((q) => answerWithA(dnsPacket.decode(q), '192.0.2.1')),
      await startUdpTcpBackend((q) => answerWithA(dnsPacket.decode(q), '192.0.2.2')),
    ];
    // dnsdist's TestRoutingLuaFFIPerThreadRoundRobinLB: a per-thread policy's counter, one TCP thread.
    proxy = await startProxy(
      `newServer{address="127.0.0.1:\${B1}", healthCheckMode="up"}
       newServer{address="127.0.0.1:\${B2}", healthCheckMode="up"}
       setLocal("127.0.0.1:\${PORT}")
       setMaxTCPClientThreads(1)
       setServerPolicyLuaFFIPerThread("luaffiroundrobin", [[
         local ffi = require("ffi")
         local counter = 0
         return function(servers_list, dq)
           counter = counter + 1
           return counter % tonumber(ffi.C.dnsdist_ffi_servers_list_get_count(servers_list))
         end
       ]])`,
      { B1: backends[0]!.port, B2: backends[1]!.port },
      { workers: 2 },
    );
  }, 30_000);

  afterAll(async () => {
    await proxy?.stop();
    for (const b of backends ?? []) await b.close();
  });

  it("only the first worker takes TCP connections, so a per-thread policy's turns hold over TCP as with dnsdist's one TCP thread", async () => {
    const pool = proxy.app.workers!;
    // Each query on a new connection (source port): the kernel would spread them over two listening workers.
    const seen: string[] = [];
    for (let i = 0; i < 10; i++) seen.push(String((await tcpQuery(proxy.port, `tcp${i}.example.`)).answers?.[0]?.data));
    expect(seen).toEqual(Array.from({ length: 10 }, (_, i) => `192.0.2.${((i + 1) % 2) + 1}`));
    await waitFor('the first worker counted them', () => pool.status()[0]!.queries === 10);
    expect(pool.status()[1]!.queries).toBe(0);
  });

  it('cannot be changed once the workers listen, as in dnsdist', () => {
    expect(proxy.app.runConsoleCommand('setMaxTCPClientThreads(2)')).toMatch(/setMaxTCPClientThreads cannot be used at runtime!/);
    expect(proxy.app.proxy.settings.maxTCPClientThreads).toBe(1);
  });
});
