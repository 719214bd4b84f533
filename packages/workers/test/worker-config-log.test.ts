import { LuaRuntime } from '@dnsdist-ts/lua/lua/lua-runtime.js';
import { ConfigChangeRunner, divergence, type ConfigChange } from '@dnsdist-ts/workers/workers/worker-config-log.js';
import { CONTROL_PLANE_MAP_WRITES } from '@dnsdist-ts/workers/workers/control-plane-map-writes.js';

describe("a worker whose outcome of a change is not the control plane's", () => {
  const change = (source?: string): ConfigChange => ({
    id: 3,
    line: 'addAction(QNameRule("x."), RCodeAction(5))',
    failed: false,
    timeoutMs: 0,
    clientTables: [],
    ...(source ? { source } : {}),
  });

  it('names the console command, or the calls of maintenance(), and says to restart the worker', () => {
    expect(divergence(1, change(), 'boom')).toBe(
      'Data-plane worker 1 diverged from the control plane running console command "addAction(QNameRule(\\"x.\\"), RCodeAction(5))": it failed (boom) where the control plane did not; its configuration now differs, restart it (restartWorker(1))',
    );
    expect(divergence(0, change('maintenance()'), 'boom')).toMatch(
      /^Data-plane worker 0 diverged from the control plane running the calls of maintenance\(\) "addAction\(QNameRule\(\\"x\.\\"\), RCodeAction\(5\)\)": it failed \(boom\)/,
    );
    expect(divergence(0, change('maintenance()'), undefined)).toBeUndefined();
  });
});

describe("a worker running the control plane's Lua text", () => {
  /** A worker's runtime with a counting stand-in for one of the map writes (the real ones need kernel maps). */
  function workerRuntime(): { runtime: LuaRuntime; runner: ConfigChangeRunner; calls: string[] } {
    const runtime = new LuaRuntime(() => {});
    const runner = new ConfigChangeRunner(runtime, undefined);
    const calls: string[] = [];
    runtime.registerFunction('addBPFFilterDynBlocks', (args) => void calls.push(String(args.values[0])));
    return { runtime, runner, calls };
  }
  const change = (line: string): ConfigChange => ({ id: 1, line, failed: false, timeoutMs: 0, clientTables: [] });

  it('skips the kernel-map writes the control plane made running the same configuration or console change', async () => {
    const { runtime, runner, calls } = workerRuntime();
    try {
      runtime.runString('addBPFFilterDynBlocks("configuration")');
      runner.configurationLoaded();
      expect(await runner.run(change('addBPFFilterDynBlocks("console")'))).toBeUndefined();
      expect(calls).toEqual([]);
      // At query time (a LuaAction's function, say) the worker's write is the process's only one.
      runtime.runString('function onQuery() addBPFFilterDynBlocks("query time") end');
      runtime.callGlobal('onQuery');
      expect(calls).toEqual(['query time']);
    } finally {
      runtime.close();
    }
  });

  it("is the list of the BPF filters' writes, not their reads", () => {
    expect([...CONTROL_PLANE_MAP_WRITES].filter((n) => /getStats|lsRangeRule|attach/.test(n))).toEqual([]);
    expect(CONTROL_PLANE_MAP_WRITES.has('BPFFilter:addRangeRule')).toBe(true);
    expect(CONTROL_PLANE_MAP_WRITES.has('BPFFilter:unblock')).toBe(true);
  });
});
