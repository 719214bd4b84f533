/**
 * The Lua names of the proxy protocol (dnsdist 1.7): the actions setting
 * the TLVs sent to `useProxyProtocol` backends. `newServer{useProxyProtocol=}`
 * lives with the servers (bind-servers.ts), `dq:getProxyProtocolValues()` and
 * `dq:setProxyProtocolValues()` with the script objects.
 */
import { Netmask, NetmaskGroup, PROXY_PROTOCOL_FIXED_SIZE } from '@dnsdist-ts/dns';
import {
  ProxyProtocolValueRule,
  SetAdditionalProxyProtocolValueAction,
  SetProxyProtocolValuesAction,
} from '@dnsdist-ts/dataplane/rules/index.js';
import { LuaAction, LuaRule } from './bind-rules.js';
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
  rt.registerFunction(
    'ProxyProtocolValueRule',
    (a) => new LuaRule(new ProxyProtocolValueRule(a.integer(0), a.isNil(1) ? undefined : a.bytes(1))),
  );

  const incoming = env.proxy.incomingProxyProtocol;
  rt.registerFunction('setProxyProtocolACL', (a) => {
    const acl = new NetmaskGroup();
    for (const m of a.stringOrStrings(0)) {
      Netmask.fromString(m.startsWith('!') ? m.slice(1) : m);
      acl.addMask(m);
    }
    incoming.acl = acl;
  });
  rt.registerFunction('setProxyProtocolMaximumPayloadSize', (a) => {
    const n = a.integer(0);
    if (n < 0) env.fail(`setProxyProtocolMaximumPayloadSize: the size must be a positive number of bytes, got ${n}`);
    // As dnsdist: never below the header's fixed part.
    incoming.maxPayloadSize = Math.max(PROXY_PROTOCOL_FIXED_SIZE, n);
  });
  rt.registerFunction('setProxyProtocolApplyACLToProxiedClients', (a) => {
    incoming.applyACLToProxiedClients = a.boolean(0);
  });
}
