/**
 * The Lua names of EDNS Client Subnet (dnsdist 1.7): the global settings
 * and the per-query actions. `newServer{useClientSubnet=…}` and
 * `ServerPool:setECS` live with the servers and pools (bind-servers.ts).
 */
import { Netmask } from '@dnsdist-ts/dns';
import {
  SetDisableECSAction,
  SetECSAction,
  SetECSOverrideAction,
  SetECSPrefixLengthAction,
  type QueryAction,
} from '@dnsdist-ts/dataplane/rules/index.js';
import { LuaAction } from './bind-rules.js';
import type { LuaArgs } from './lua-args.js';
import type { LuaEnvironment } from './lua-environment.js';

export function registerEcsBindings(env: LuaEnvironment): void {
  const rt = env.runtime;
  const settings = env.proxy.settings;
  const prefix =
    (name: string, max: number) =>
    (a: LuaArgs): number => {
      const n = a.integer(0);
      // dnsdist 1.7 takes any number and silently cuts the prefix to the family's width when it builds the option.
      if (n < 0 || n > max) env.fail(`${name}: the prefix length must be between 0 and ${max}, got ${n}`);
      return n;
    };
  const v4 = prefix('setECSSourcePrefixV4', 32);
  const v6 = prefix('setECSSourcePrefixV6', 128);
  rt.registerFunction('setECSSourcePrefixV4', (a) => {
    settings.ecsSourcePrefixV4 = v4(a);
  });
  rt.registerFunction('setECSSourcePrefixV6', (a) => {
    settings.ecsSourcePrefixV6 = v6(a);
  });
  rt.registerFunction('setECSOverride', (a) => {
    settings.ecsOverride = a.boolean(0);
  });

  const act = (name: string, make: (a: LuaArgs) => QueryAction, oldName?: string): void => {
    rt.registerFunction(name, (a) => new LuaAction(make(a)));
    if (oldName === undefined) return;
    rt.registerFunction(oldName, (a) => {
      env.warn(`access to ${oldName} is deprecated and will be removed in a future version, please use ${name} instead`);
      return new LuaAction(make(a));
    });
  };
  act('SetDisableECSAction', () => new SetDisableECSAction(), 'DisableECSAction');
  act('SetECSOverrideAction', (a) => new SetECSOverrideAction(a.boolean(0)), 'ECSOverrideAction');
  act('SetECSPrefixLengthAction', (a) => new SetECSPrefixLengthAction(a.integer(0), a.integer(1)), 'ECSPrefixLengthAction');
  act('SetECSAction', (a) => new SetECSAction(Netmask.fromString(a.string(0)), a.isNil(1) ? undefined : Netmask.fromString(a.string(1))));
}
