/**
 * dnsdist-ts with its webserver, started in-process from a Lua config
 * (`webserver("127.0.0.1:0")` binds a free port, read back here).
 */
import type { AppOptions } from '../../src/app/dnsdist-app.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';

export interface RunningWebProxy extends RunningProxy {
  /** The webserver's port. */
  web: number;
}

export async function startWebProxy(
  config: string,
  vars: Record<string, string | number> = {},
  options: Partial<AppOptions> = {},
): Promise<RunningWebProxy> {
  const proxy = await startProxy(`setLocal("127.0.0.1:\${PORT}")\n${config}`, vars, options);
  const server = proxy.app.web.server;
  if (!server) {
    await proxy.stop();
    throw new Error(`the configuration started no webserver:\n${proxy.output.join('\n')}`);
  }
  return Object.assign(proxy, { web: server.port });
}
