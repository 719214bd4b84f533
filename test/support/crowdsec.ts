/**
 * A real CrowdSec Local API for a test (Debian's crowdsec, Local API only:
 * no agent, no online client): on loopback, on a free port, with its own
 * configuration, database and data in a private temporary directory;
 * `cscli` with the same configuration adds bouncers and decisions.
 * `kill()`/`restart()` take it down and bring it back on the same port with
 * the same database; `stop()` removes the directory.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

export interface RunningCrowdSec {
  readonly port: number;
  /** http://127.0.0.1:PORT/ */
  readonly url: string;
  /** Run cscli against this Local API; returns its stdout (throws on failure). */
  cli(...args: string[]): string;
  /** A new bouncer's API key (`cscli bouncers add`). */
  addBouncer(name: string): string;
  /** A new machine (watcher) with this password (`cscli machines add`). */
  addMachine(name: string, password: string): void;
  /** SIGKILL the Local API and resolve once it is gone. */
  kill(): Promise<void>;
  /** Start it again on the same port with the same database. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function config(dir: string, port: number): string {
  // No online_client section: the Local API never talks to CrowdSec's central service.
  return `common:
  daemonize: false
  log_media: stdout
  log_level: info
  working_dir: ${dir}
config_paths:
  config_dir: ${dir}/etc/
  data_dir: ${dir}/data/
  simulation_path: ${dir}/etc/simulation.yaml
  hub_dir: ${dir}/hub/
  index_path: ${dir}/hub/.index.json
  notification_dir: ${dir}/etc/notifications/
  plugin_dir: /usr/lib/crowdsec/plugins/
cscli:
  output: human
  color: never
db_config:
  log_level: info
  type: sqlite
  db_path: ${dir}/data/crowdsec.db
  use_wal: false
api:
  client:
    credentials_path: ${dir}/etc/local_api_credentials.yaml
  server:
    log_level: info
    listen_uri: 127.0.0.1:${port}
    profiles_path: ${dir}/etc/profiles.yaml
    trusted_ips: [127.0.0.1]
prometheus:
  enabled: false
`;
}

function startServer(dir: string): Promise<ChildProcess> {
  const child = spawn('crowdsec', ['-c', join(dir, 'config.yaml'), '-no-cs', '-no-capi'], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (out.includes('CrowdSec Local API listening on')) {
        child.stdout!.off('data', onData);
        child.stderr!.off('data', onData);
        child.stdout!.resume();
        child.stderr!.resume();
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`crowdsec exited (${String(code)}) before its Local API listened:\n${out}`)));
    child.once('error', reject);
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startCrowdSec(): Promise<RunningCrowdSec> {
  const dir = mkdtempSync(join(tmpdir(), 'dts-crowdsec-'));
  for (const d of ['etc', 'data', 'hub']) mkdirSync(join(dir, d));
  writeFileSync(join(dir, 'etc', 'simulation.yaml'), 'simulation: off\n');
  writeFileSync(join(dir, 'hub', '.index.json'), '{}\n');
  writeFileSync(join(dir, 'etc', 'local_api_credentials.yaml'), '');
  copyFileSync('/etc/crowdsec/profiles.yaml', join(dir, 'etc', 'profiles.yaml'));
  let port = 0;
  let child: ChildProcess | undefined;
  for (let attempt = 1; !child; attempt++) {
    port = await freePort();
    writeFileSync(join(dir, 'config.yaml'), config(dir, port));
    try {
      child = await startServer(dir);
    } catch (err) {
      if (attempt === 5 || !/address already in use/i.test((err as Error).message)) {
        rmSync(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }
  const url = `http://127.0.0.1:${port}/`;
  const cli = (...args: string[]): string => {
    const r = spawnSync('cscli', ['-c', join(dir, 'config.yaml'), ...args], { encoding: 'utf8', timeout: 30_000 });
    if (r.status !== 0) throw new Error(`cscli ${args.join(' ')} failed: ${r.stderr || r.error?.message}`);
    return r.stdout;
  };
  // The machine cscli uses to add and delete decisions through the Local API.
  cli('machines', 'add', 'dnsdist-ts-test', '--auto', '--url', url, '--force');
  return {
    port,
    url,
    cli,
    addBouncer: (name) => cli('bouncers', 'add', name, '-o', 'raw').trim(),
    // -f: its credentials go to a file of their own, not over the test machine's that cscli uses.
    addMachine: (name, password) => void cli('machines', 'add', name, '--password', password, '-f', join(dir, `${name}.yaml`)),
    async kill() {
      child!.kill('SIGKILL');
      await exited(child!);
    },
    async restart() {
      child = await startServer(dir);
    },
    async stop() {
      child!.kill('SIGTERM');
      await exited(child!);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
