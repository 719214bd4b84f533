/**
 * Lua functions of the CrowdSec bouncer: setCrowdSecBouncer{…} polls a
 * CrowdSec Local API and applies its decisions as dynamic blocks,
 * showCrowdSecBouncer() says how it is doing; setCrowdSecWatcher{…}
 * reports this node's own blocks to it as alerts. The objects are built
 * by the application; this file only reads options and calls it.
 */
import type { CrowdSecBouncer } from '@dnsdist-ts/integrations/crowdsec/crowdsec-bouncer.js';
import { crowdSecWatcherOptions, type CrowdSecWatcher } from '@dnsdist-ts/integrations/crowdsec/crowdsec-watcher.js';
import { crowdSecBouncerOptions } from '@dnsdist-ts/integrations/crowdsec/crowdsec-bouncer-options.js';
import { LuaBindingError } from './lua-errors.js';
import { LuaOptions } from './lua-args.js';
import type { LuaEnvironment } from './lua-environment.js';
import { LuaTable } from './lua-table.js';

function actionsOption(v: unknown): Map<string, string> | undefined {
  if (v === undefined) return undefined;
  const usage =
    'setCrowdSecBouncer: option \'actions\' must be a table of decision type = action name, e.g. {ban="Drop", captcha="Truncate"}';
  if (!(v instanceof LuaTable)) throw new LuaBindingError(usage);
  const m = new Map<string, string>();
  for (const [k, val] of v.entries) {
    if (typeof k !== 'string' || typeof val !== 'string') throw new LuaBindingError(usage);
    m.set(k, val);
  }
  return m;
}

export function registerCrowdSecBindings(env: LuaEnvironment, bouncer: CrowdSecBouncer, watcher: CrowdSecWatcher): void {
  const rt = env.runtime;
  rt.registerFunction('setCrowdSecWatcher', (a) => {
    const o = new LuaOptions('setCrowdSecWatcher', a.table(0));
    const input = {
      url: o.string('url'),
      machineId: o.string('machineId'),
      password: o.string('password'),
      share: o.stringOrStrings('share'),
      decisionType: o.string('decisionType'),
      scenario: o.string('scenario'),
      timeout: o.number('timeout'),
      caFile: o.string('caFile'),
    };
    o.rejectUnknown();
    watcher.configure(crowdSecWatcherOptions(input));
  });

  rt.registerFunction('setCrowdSecBouncer', (a) => {
    const o = new LuaOptions('setCrowdSecBouncer', a.table(0));
    const input = {
      url: o.string('url'),
      apiKey: o.string('apiKey'),
      interval: o.number('interval'),
      timeout: o.number('timeout'),
      origin: o.string('origin'),
      actions: actionsOption(o.raw('actions')),
      maxSeconds: o.integer('maxSeconds'),
      maxDecisions: o.integer('maxDecisions'),
      caFile: o.string('caFile'),
    };
    o.rejectUnknown();
    bouncer.configure(crowdSecBouncerOptions(input));
  });

  rt.registerFunction('showCrowdSecBouncer', () => {
    const s = bouncer.stats();
    if (!s.configured) {
      rt.print('No CrowdSec bouncer (setCrowdSecBouncer was not called)');
      return;
    }
    const refused = [...s.refused].map(([k, n]) => `${k}=${n}`).join(' ') || '0';
    const last = s.lastPoll > 0 ? new Date(s.lastPoll * 1000).toISOString() : 'never';
    rt.print(
      [
        `CrowdSec Local API ${bouncer.options!.url}: ${s.connected ? 'connected' : 'not connected'}; last successful poll ${last}`,
        `Decisions applied ${s.applied}, removed ${s.removed}, refused: ${refused}; failed polls ${s.pollFailures}`,
        `Addresses and ranges held: ${s.active}`,
        ...(s.lastError !== undefined ? [`Last error: ${s.lastError}`] : []),
      ].join('\n'),
    );
  });
}
