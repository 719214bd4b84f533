import { hostname } from 'node:os';
import { parseAddressWithPort } from '@dnsdist-ts/dns';
import type { CarbonExporter } from '@dnsdist-ts/integrations/carbon/carbon-exporter.js';
import type { LuaEnvironment } from './lua-environment.js';

/** Carbon's plaintext port. */
const CARBON_PORT = 2003;

/**
 * `carbonServer(address [, ourname [, interval [, namespace [, instance]]]])`:
 * export the statistics to a Carbon (Graphite) server every `interval`
 * seconds (default 30) under `namespace.ourname.instance.` (default
 * `dnsdist.<host name, dots as underscores>.main.`). Several calls add
 * several servers; a call at runtime starts its exports at once.
 */
export function registerCarbonBindings(env: LuaEnvironment, carbon: CarbonExporter): void {
  env.runtime.registerFunction('carbonServer', (a) => {
    const text = a.string(0);
    let address;
    try {
      address = parseAddressWithPort(text, CARBON_PORT);
    } catch (err) {
      return env.fail(`carbonServer: '${text}' is not an address ("ip[:port]", port 2003 by default): ${(err as Error).message}`);
    }
    const interval = a.optInteger(2, 30);
    if (interval < 1) return env.fail(`carbonServer: the interval is in seconds and must be at least 1, got ${interval}`);
    const ourname = a.optString(1, '');
    const namespace = a.optString(3, '');
    const instance = a.optString(4, '');
    carbon.add({
      address,
      ourname: ourname !== '' ? ourname : hostname().replace(/\./g, '_'),
      interval,
      namespace: namespace !== '' ? namespace : 'dnsdist',
      instance: instance !== '' ? instance : 'main',
    });
  });
}
