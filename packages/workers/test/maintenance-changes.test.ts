/**
 * The recording of maintenance()'s configuration changes as Lua text for the
 * data-plane workers (maintenance-changes.ts, worker-guards.ts), on a real Lua
 * state with a few stand-in functions (named as dnsdist's, so that the guards
 * treat them as they treat the real ones) that only note their calls.
 */
import { LuaRuntime } from '@dnsdist-ts/lua/lua/lua-runtime.js';
import { WorkerGuards } from '@dnsdist-ts/workers/workers/worker-guards.js';

class StandInRule {
  constructor(readonly what: string) {}
}
class StandInGroup {
  readonly masks: string[] = [];
}
class StandInServer {
  constructor(readonly index: number) {}
}

/** A Lua state with stand-in constructors, getters and changes; `calls` lists the changes as they ran. */
function standIn(): { rt: LuaRuntime; guards: WorkerGuards; calls: string[] } {
  const rt = new LuaRuntime(() => {});
  const guards = new WorkerGuards(rt);
  const calls: string[] = [];
  rt.defineClass(StandInRule, 'DNSRule', {});
  rt.defineClass(StandInGroup, 'NetmaskGroup', {
    addMask: (self, a) => void self.masks.push(a.string(0)),
    size: (self) => self.masks.length,
  });
  rt.defineClass(StandInServer, 'Server', { setWeight: (self, a) => void calls.push(`server ${self.index} weight ${a.number(0)}`) });
  const servers = [new StandInServer(0), new StandInServer(1)];
  rt.registerFunction('QNameRule', (a) => new StandInRule(`qname ${a.string(0)}`));
  rt.registerFunction('LuaRule', () => new StandInRule('lua'));
  rt.registerFunction('MaxQPSIPRule', () => new StandInRule('maxqpsip'));
  rt.registerFunction('NetmaskGroupRule', (a) => new StandInRule(`nmg ${(a.raw(0) as StandInGroup).masks.join(',')}`));
  rt.registerFunction('newNMG', () => new StandInGroup());
  rt.registerFunction('getServer', (a) => servers[a.number(0)]);
  // A getter whose object a constructor made (as a pool holds what the configuration made).
  let group: StandInGroup | undefined;
  rt.registerFunction('keepGroup', (a) => void (group = a.raw(0) as StandInGroup));
  rt.registerFunction('getPool', () => group);
  rt.registerFunction('addAction', (a) => void calls.push(`addAction ${(a.raw(0) as StandInRule).what}`));
  rt.registerFunction('setSetting', () => void calls.push('setSetting'));
  return { rt, guards, calls };
}

/** Run `config`, then `maintenance()` once with `workers` workers: what it recorded (the calls made before a failure included). */
function recorded(config: string, workers = 2): ReturnType<typeof standIn> & { text: string[]; failure: Error | undefined } {
  const setUp = standIn();
  setUp.rt.runString(config, 'config');
  setUp.guards.configurationDone(workers, 'config');
  setUp.guards.beginMaintenance();
  let failure: Error | undefined;
  try {
    setUp.rt.callGlobal('maintenance');
  } catch (err) {
    failure = err as Error;
  }
  return { ...setUp, text: setUp.guards.maintenanceDone(), failure };
}

/** The error maintenance() fails with. */
function refusal(config: string): string {
  const { failure } = recorded(config);
  if (!failure) throw new Error('maintenance() did not fail');
  return failure.message;
}

describe("maintenance()'s changes written for the workers", () => {
  it('writes plain data as literals and objects as the constructor calls that made them, recursively', () => {
    const { text, calls } = recorded(`
      function maintenance()
        addAction(QNameRule("x."))
        setSetting({limit = 5, names = {"a", "b"}, on = true})
      end`);
    expect(text).toEqual(['addAction(QNameRule("x."))', 'setSetting({["limit"]=5, ["names"]={[1]="a", [2]="b"}, ["on"]=true})']);
    // They ran in the control plane, as with one process.
    expect(calls).toEqual(['addAction qname x.', 'setSetting']);
  });

  it("writes an object held in a global set by the configuration as the global's name, the workers' own object", () => {
    const { text } = recorded(`
      kept = LuaRule(function() return true end)
      blocked = newNMG()
      function maintenance()
        addAction(kept)
        blocked:addMask("10.0.0.0/8")
        addAction(NetmaskGroupRule(blocked))
      end`);
    expect(text).toEqual(['addAction(kept)', 'blocked:addMask("10.0.0.0/8")', 'addAction(NetmaskGroupRule(blocked))']);
  });

  it('runs a method that only reads in the control plane alone, sending nothing', () => {
    const { text, failure } = recorded(`
      blocked = newNMG()
      local hidden = newNMG()
      function maintenance()
        if blocked:size() == 0 and hidden:size() == 0 then blocked:addMask("10.0.0.0/8") end
        addAction(NetmaskGroupRule(hidden))
      end`);
    expect(failure).toBeUndefined();
    expect(text).toEqual(['blocked:addMask("10.0.0.0/8")', 'addAction(NetmaskGroupRule(newNMG()))']);
  });

  it('makes an object made in this run again with the methods called on it since', () => {
    const { text } = recorded(`
      function maintenance()
        local n = newNMG()
        n:addMask("192.0.2.0/24")
        n:addMask("198.51.100.0/24")
        addAction(NetmaskGroupRule(n))
      end`);
    expect(text).toEqual([
      'addAction(NetmaskGroupRule((function() local o = newNMG() o:addMask("192.0.2.0/24") o:addMask("198.51.100.0/24") return o end)()))',
    ]);
    // The text runs: the rule it makes holds both masks.
    const worker = standIn();
    worker.rt.runString(text[0]!, 'worker');
    expect(worker.calls).toEqual(['addAction nmg 192.0.2.0/24,198.51.100.0/24']);
  });

  it('writes an object got in this run as the getter call, and refuses one got before', () => {
    expect(recorded('function maintenance() getServer(1):setWeight(3) end').text).toEqual(['getServer(1):setWeight(3)']);
    // The getter wins over the constructor call that made the object: the worker changes its own.
    expect(recorded('keepGroup(newNMG()) function maintenance() getPool("x"):addMask("10.0.0.0/8") end').text).toEqual([
      'getPool("x"):addMask("10.0.0.0/8")',
    ]);
    expect(refusal('local s = getServer(1) function maintenance() s:setWeight(3) end')).toMatch(
      /Server:setWeight: refused in maintenance\(\) with 2 data-plane workers: the object it is called on \(got by getServer\(\) before this maintenance\(\) run: call it again\)/,
    );
  });

  it('refuses, naming the function and the argument, what cannot be made again in a worker', () => {
    expect(refusal('function maintenance() addAction(LuaRule(function() return true end)) end')).toBe(
      'config:1: addAction: refused in maintenance() with 2 data-plane workers: its argument 1 (made by LuaRule(), whose argument 1 is a Lua function) cannot be made again in the workers, which must make the same call; build it in the configuration and keep it in a global (myAction = LuaAction(f)), then pass the global, or make the change at the console (see docs/architecture.md)',
    );
    expect(refusal('function maintenance() addAction(MaxQPSIPRule(5)) end')).toMatch(
      /its argument 1 \(made by MaxQPSIPRule\(\), which is not made again in the workers: its per-client counts are shared/,
    );
    // Changed by a method after it was made (here by the configuration): the constructor call would not make it again.
    expect(refusal('local n = newNMG() n:addMask("10.0.0.0/8") function maintenance() addAction(NetmaskGroupRule(n)) end')).toMatch(
      /its argument 1 \(made by NetmaskGroupRule\(\), whose argument 1 is made by newNMG\(\) and changed since by NetmaskGroup:addMask\)/,
    );
    // A method on an object the workers cannot find: they would change a copy.
    expect(refusal('local n = newNMG() function maintenance() n:addMask("10.0.0.0/8") end')).toMatch(
      /NetmaskGroup:addMask: refused in maintenance\(\) .*the object it is called on \(made by newNMG\(\) and not held in a global/,
    );
    // A global maintenance() itself set is not the workers' (userdata is not copied to them): its constructor call is used.
    const { text } = recorded('function maintenance() mine = QNameRule("m.") addAction(mine) end');
    expect(text).toEqual(['addAction(QNameRule("m."))']);
  });

  it('records nothing with one worker, and still refuses changes from other Lua the control plane runs', () => {
    const one = recorded('function maintenance() addAction(QNameRule("x.")) end', 1);
    expect(one.text).toEqual([]);
    expect(one.calls).toEqual(['addAction qname x.']);
    const { rt, guards } = standIn();
    rt.runString('function check() addAction(QNameRule("x.")) end', 'config');
    guards.configurationDone(2, 'config');
    expect(() => rt.callGlobal('check')).toThrow(/addAction: refused with 2 data-plane workers: outside the console and maintenance\(\)/);
  });
});
