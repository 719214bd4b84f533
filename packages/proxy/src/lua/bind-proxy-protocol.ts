/**
 * The Lua names of the proxy protocol (dnsdist 1.7): the actions setting
 * the TLVs sent to `useProxyProtocol` backends. `newServer{useProxyProtocol=}`
 * lives with the servers (bind-servers.ts), `dq:getProxyProtocolValues()` and
 * `dq:setProxyProtocolValues()` with the script objects.
 */
import { SetAdditionalProxyProtocolValueAction, SetProxyProtocolValuesAction } from '../rules/index.js';
import { LuaAction } from './bind-rules.js';
import { proxyProtocolValuesFromTable } from './lua-proxy-protocol-values.js';
import type { LuaEnvironment } from './lua-environment.js';

export function registerProxyProtocolBindings(env: LuaEnvironment): void {
  const rt = env.runtime;
  rt.registerFunction(
    'SetProxyProtocolValuesAction',
    (a) => new LuaAction(new SetProxyProtocolValuesAction(proxyProtocolValuesFromTable('SetProxyProtocolValuesAction', a.table(0)))),
  );
  rt.registerFunction(
    'SetAdditionalProxyProtocolValueAction',
    (a) => new LuaAction(new SetAdditionalProxyProtocolValueAction(a.integer(0), a.bytes(1))),
  );
}
