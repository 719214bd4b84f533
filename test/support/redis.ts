/**
 * A real Redis server for a test: on loopback, on a free port, in a
 * private temporary directory, without persistence; stopped (and its
 * directory removed) by `stop()`. `restart()` brings it back on the same
 * port, empty, as a Redis restart without persistence does.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

export interface RedisOptions {
  /** requirepass: the default user's password. */
  readonly password?: string;
  /** Addresses to listen on (default 127.0.0.1): loopback and test-namespace addresses only. */
  readonly bind?: readonly string[];
  /** TLS only (port 0 for plain), with these PEM files. */
  readonly tls?: { readonly cert: string; readonly key: string; readonly ca: string };
}

export interface RunningRedis {
  readonly port: number;
  /** redis:// or rediss:// URL of the server (without credentials). */
  readonly url: string;
  /** Run redis-cli against the server; returns its stdout (throws on failure). */
  cli(...args: string[]): string;
  /** Kill the server (SIGKILL: no clean shutdown) and resolve once it is gone. */
  kill(): Promise<void>;
  /** Start it again on the same port, empty. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function startServer(port: number, dir: string, o: RedisOptions): Promise<ChildProcess> {
  const args = ['--bind', ...(o.bind ?? ['127.0.0.1']), '--dir', dir, '--save', '', '--appendonly', 'no', '--protected-mode', 'no'];
  if (o.tls)
    args.push(
      '--port',
      '0',
      '--tls-port',
      String(port),
      '--tls-cert-file',
      o.tls.cert,
      '--tls-key-file',
      o.tls.key,
      '--tls-ca-cert-file',
      o.tls.ca,
      '--tls-auth-clients',
      'no',
    );
  else args.push('--port', String(port));
  if (o.password !== undefined) args.push('--requirepass', o.password);
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) {
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`redis-server exited (${String(code)}) before it was ready:\n${out}`)));
    child.once('error', reject);
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startRedis(o: RedisOptions = {}): Promise<RunningRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'dts-redis-'));
  let port = 0;
  let child: ChildProcess | undefined;
  for (let attempt = 1; !child; attempt++) {
    port = await freePort();
    try {
      child = await startServer(port, dir, o);
    } catch (err) {
      if (attempt === 5 || !/Address already in use/.test((err as Error).message)) {
        rmSync(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }
  const url = `${o.tls ? 'rediss' : 'redis'}://127.0.0.1:${port}`;
  const running: RunningRedis = {
    port,
    url,
    cli(...args) {
      const base = ['-h', '127.0.0.1', '-p', String(port), '--no-auth-warning'];
      if (o.password !== undefined) base.push('-a', o.password);
      if (o.tls) base.push('--tls', '--cacert', o.tls.ca);
      const r = spawnSync('redis-cli', [...base, ...args], { encoding: 'utf8', timeout: 10_000 });
      if (r.status !== 0) throw new Error(`redis-cli ${args.join(' ')} failed: ${r.stderr || r.error?.message}`);
      return r.stdout;
    },
    async kill() {
      const c = child!;
      c.kill('SIGKILL');
      await exited(c);
    },
    async restart() {
      await running.kill();
      child = await startServer(port, dir, o);
    },
    async stop() {
      const c = child!;
      c.kill('SIGTERM');
      await exited(c);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return running;
}
