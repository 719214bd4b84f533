/**
 * A console command whose kernel-map write failed in the control plane ends
 * in each data-plane worker where it ended in the control plane: the worker
 * skips the write (the maps are the control plane's, already written), and
 * fails the same call with the same message, so what follows it in the
 * command is not run there either, and a pcall sees the same error. On real
 * Lua states: the control plane's guarded by WorkerGuards, the worker's by
 * ConfigChangeRunner, with a stand-in for the write that fails like
 * BPFFilter:unblock does for an address not blocked.
 */
import { LuaRuntime } from '@dnsdist-ts/lua/lua/lua-runtime.js';
import { LuaBindingError } from '@dnsdist-ts/lua/lua/lua-errors.js';
import { WorkerGuards } from '@dnsdist-ts/workers/workers/worker-guards.js';
import { ConfigChangeRunner, type ConfigChange } from '@dnsdist-ts/workers/workers/worker-config-log.js';
import type { MapWriteFailure } from '@dnsdist-ts/workers/workers/control-plane-map-writes.js';

const NOT_BLOCKED = 'BPFFilter:unblock: 192.0.2.1 is not blocked: No such file or directory';

/** A Lua state whose map write (addBPFFilterDynBlocks, named as a real one) fails for "missing", and a change that counts. */
function state(): { rt: LuaRuntime; writes: string[]; changes: string[] } {
  const rt = new LuaRuntime(() => {});
  const writes: string[] = [];
  const changes: string[] = [];
  return { rt, writes, changes };
}

function register(s: ReturnType<typeof state>): void {
  s.rt.registerFunction('addBPFFilterDynBlocks', (a) => {
    if (a.string(0) === 'missing') throw new LuaBindingError(NOT_BLOCKED);
    s.writes.push(a.string(0));
  });
  s.rt.registerFunction('addAction', (a) => void s.changes.push(a.string(0)));
}

/** The control plane runs `line` at the console with two workers: its reply, and the writes that failed. */
async function inControlPlane(line: string): Promise<{ reply: string; failures: MapWriteFailure[]; writes: string[] }> {
  const cp = state();
  const guards = new WorkerGuards(cp.rt);
  register(cp);
  guards.configurationDone(2, '');
  try {
    guards.beginConsoleCommand();
    const reply = await cp.rt.runConsoleCommandSliced(line, (value) => (value === undefined ? undefined : String(value)));
    return { reply, failures: guards.takeMapWriteFailures(), writes: cp.writes };
  } finally {
    cp.rt.close();
  }
}

/** A worker runs the same line as a change with `failures`: its error, the changes it made and its global `caught`. */
async function inWorker(
  line: string,
  failures: MapWriteFailure[],
): Promise<{ error: string | undefined; changes: string[]; caught: unknown; writes: string[] }> {
  const w = state();
  const runner = new ConfigChangeRunner(w.rt, undefined);
  register(w);
  runner.configurationLoaded();
  const change: ConfigChange = { id: 1, line, failed: false, timeoutMs: 0, clientTables: [], mapWriteFailures: failures };
  try {
    const error = await runner.run(change);
    w.rt.runString('caughtText = tostring(caught)');
    return { error, changes: w.changes, caught: w.rt.runString('return caughtText')[0], writes: w.writes };
  } finally {
    w.rt.close();
  }
}

describe("a kernel-map write that failed in the control plane's console command", () => {
  it('is noted by position in the control plane, and the command stops there', async () => {
    const { reply, failures, writes } = await inControlPlane(
      'addBPFFilterDynBlocks("a") addBPFFilterDynBlocks("missing") addAction("after")',
    );
    expect(reply).toContain(NOT_BLOCKED);
    expect(failures).toEqual([[1, NOT_BLOCKED]]);
    expect(writes).toEqual(['a']);
  });

  it("fails the worker's skipped write at the same call: what follows is not run there either", async () => {
    const line = 'addBPFFilterDynBlocks("a") addBPFFilterDynBlocks("missing") addAction("after")';
    const { failures } = await inControlPlane(line);
    const worker = await inWorker(line, failures);
    expect(worker.error).toContain(NOT_BLOCKED);
    expect(worker.changes).toEqual([]);
    // Skipped, not made again: the control plane's maps have them.
    expect(worker.writes).toEqual([]);
    // Without the control plane's outcome the worker would have gone on and added the rule alone.
    const unaware = await inWorker(line, []);
    expect(unaware.error).toBeUndefined();
    expect(unaware.changes).toEqual(['after']);
  });

  it('gives a pcall in the worker the error the control plane caught', async () => {
    const line = 'local ok, err = pcall(addBPFFilterDynBlocks, "missing") caught = err addAction("after")';
    const { failures, reply } = await inControlPlane(line);
    expect(reply).toBe('');
    expect(failures).toEqual([[0, NOT_BLOCKED]]);
    const worker = await inWorker(line, failures);
    expect(worker.error).toBeUndefined();
    expect(worker.changes).toEqual(['after']);
    expect(String(worker.caught)).toContain(NOT_BLOCKED);
  });

  it('notes nothing with one worker, or outside a console command', async () => {
    const cp = state();
    const guards = new WorkerGuards(cp.rt);
    register(cp);
    try {
      guards.configurationDone(1, '');
      guards.beginConsoleCommand();
      await cp.rt.runConsoleCommandSliced('pcall(addBPFFilterDynBlocks, "missing")', () => '');
      expect(guards.takeMapWriteFailures()).toEqual([]);
      guards.configurationDone(2, '');
      // maintenance() or a health check's Lua: not a command the workers run.
      cp.rt.runString('pcall(addBPFFilterDynBlocks, "missing")');
      expect(guards.takeMapWriteFailures()).toEqual([]);
    } finally {
      cp.rt.close();
    }
  });
});
