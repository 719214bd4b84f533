/**
 * Start dnsdist-ts in-process from a Lua configuration, with free loopback
 * ports, and stop it afterwards. Real sockets, real Lua.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DnsdistApp, type AppOptions } from '../../src/app/dnsdist-app.js';
import { startDemoServer, type DemoServer } from '../../src/demo/demo-authoritative-server.js';
import { testWorkerCount } from './test-workers.js';

export interface RunningProxy {
  app: DnsdistApp;
  port: number;
  output: string[];
  configFile: string;
  stop(): Promise<void>;
}

export { freePort } from '../../../../test/support/free-port.js';
import { freePort } from '../../../../test/support/free-port.js';

/**
 * Run a config. `${PORT}` in the text is replaced by the proxy's listen
 * port, other `${NAME}` by `vars`. DNSDIST_TS_TEST_WORKERS=N (test-workers.ts)
 * runs it with N data-plane workers unless `options.workers` says otherwise.
 */
export async function startProxy(
  config: string,
  vars: Record<string, string | number> = {},
  options: Partial<AppOptions> = {},
): Promise<RunningProxy> {
  // A port found free can be taken by another test worker before the proxy binds it: try another.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startProxyOnce(config, vars, options);
    } catch (err) {
      const inUse = (err as { code?: string }).code === 'EADDRINUSE' || /EADDRINUSE/.test((err as Error).message);
      if (!inUse || !config.includes('${PORT}') || attempt === 5) throw err;
    }
  }
}

async function startProxyOnce(config: string, vars: Record<string, string | number>, options: Partial<AppOptions>): Promise<RunningProxy> {
  const port = await freePort();
  let text = config.replaceAll('${PORT}', String(port));
  for (const [k, v] of Object.entries(vars)) text = text.replaceAll(`\${${k}}`, String(v));
  const dir = mkdtempSync(join(tmpdir(), 'dts-proxy-'));
  const configFile = join(dir, 'dnsdist.conf');
  writeFileSync(configFile, text);
  const output: string[] = [];
  const workers = testWorkerCount();
  const app = new DnsdistApp({
    configFile,
    output: (l) => output.push(l),
    udpImplementation: 'auto',
    ...(workers !== undefined ? { workers } : {}),
    ...options,
  });
  try {
    await app.loadConfiguration();
    await app.start();
  } catch (err) {
    await app.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    app,
    port,
    output,
    configFile,
    stop: async () => {
      await app.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function startDemo(): Promise<DemoServer> {
  return startDemoServer('127.0.0.1', 0);
}

/**
 * Run a configuration through dnsdist-ts as --check-config does: load it,
 * capture what it prints, then release everything. Resolves with the lines.
 */
export async function loadConfigurationOutput(text: string): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'dts-load-'));
  const out: string[] = [];
  const file = join(dir, 'dnsdist.conf');
  writeFileSync(file, text);
  const app = new DnsdistApp({ configFile: file, output: (l) => out.push(l), quiet: true });
  try {
    await app.loadConfiguration();
  } finally {
    await app.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
