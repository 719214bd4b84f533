/**
 * Lua functions of fleet-wide dynamic blocks: setDynBlocksSync{…} joins a
 * fleet through Redis, showDynBlocksSync() says how the link is doing.
 * The FleetSync object is built by the application; this file only reads
 * options and calls it.
 */
import type { FleetSync } from '@dnsdist-ts/integrations/fleet/fleet-sync.js';
import { fleetSyncOptions, type FleetTlsOptions } from '@dnsdist-ts/integrations/fleet/fleet-sync-options.js';
import { LuaBindingError } from './lua-errors.js';
import { LuaOptions } from './lua-args.js';
import type { LuaEnvironment } from './lua-environment.js';
import { LuaTable } from './lua-table.js';

function tlsOptions(v: unknown): FleetTlsOptions | undefined {
  if (v === undefined) return undefined;
  if (!(v instanceof LuaTable))
    throw new LuaBindingError("setDynBlocksSync: option 'tls' must be a table {caFile=, serverName=, certFile=, keyFile=}");
  const o = new LuaOptions('setDynBlocksSync (tls)', v);
  const tls = {
    caFile: o.string('caFile'),
    serverName: o.string('serverName'),
    certFile: o.string('certFile'),
    keyFile: o.string('keyFile'),
  };
  o.rejectUnknown();
  return tls;
}

export function registerFleetBindings(env: LuaEnvironment, fleet: FleetSync): void {
  const rt = env.runtime;
  rt.registerFunction('setDynBlocksSync', (a) => {
    const o = new LuaOptions('setDynBlocksSync', a.table(0));
    const input = {
      url: o.string('url'),
      user: o.string('user'),
      password: o.string('password'),
      fleet: o.string('fleet'),
      node: o.string('node'),
      share: o.stringOrStrings('share'),
      actions: o.stringOrStrings('actions'),
      warnings: o.boolean('warnings'),
      maxSeconds: o.integer('maxSeconds'),
      maxBlocks: o.integer('maxBlocks'),
      propagateClear: o.boolean('propagateClear'),
      keyPrefix: o.string('keyPrefix'),
      connectTimeout: o.number('connectTimeout'),
      tls: tlsOptions(o.raw('tls')),
    };
    o.rejectUnknown();
    fleet.configure(fleetSyncOptions(input));
  });

  rt.registerFunction('showDynBlocksSync', () => {
    const s = fleet.stats();
    if (!s.configured) {
      rt.print('Not in a fleet (setDynBlocksSync was not called)');
      return;
    }
    const refused = [...s.refused].map(([k, n]) => `${k}=${n}`).join(' ') || '0';
    rt.print(
      [
        `Fleet "${s.fleet}", node "${s.node}": ${s.connected ? 'connected' : 'not connected'}`,
        `Published ${s.published}, deferred or failed ${s.publishFailures}; received ${s.received}, removals received ${s.removalsReceived}`,
        `Refused: ${refused}; resynchronisations ${s.resyncs}; disconnections ${s.disconnects}; last lag ${s.lastLagMs} ms`,
        `Active blocks from other nodes: ${s.remoteBlocks}`,
        ...(s.lastError !== undefined ? [`Last error: ${s.lastError}`] : []),
      ].join('\n'),
    );
  });
}
