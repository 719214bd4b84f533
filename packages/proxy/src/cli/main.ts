#!/usr/bin/env -S node --no-memory-reducer
/**
 * dnsdist-ts: the command line. Same flags as dnsdist (see --help); runs in
 * the foreground until SIGTERM/SIGINT or shutdown().
 *
 * Node runs it with `--no-memory-reducer` (shebang and bin/dnsdist-ts).
 * When the query rate falls after a busy period, V8's memory reducer runs
 * up to three full collections to hand memory back; each stops the event
 * loop for 5–25 ms just as traffic is normal again (measured at 5,000 qps
 * after a saturating run: p99.9 from 0.9 to 8 ms, worst answer 24 ms). A
 * DNS front-end keeps a steady working set: a steady tail is worth more.
 * The flag must be on node's command line: the reducer is created with the
 * heap, and setting the flag later (v8.setFlagsFromString) does not stop it.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { DnsdistApp } from '../app/dnsdist-app.js';
import { ConsoleClient, DEFAULT_CONSOLE_PORT, parseConsoleKey } from '@dnsdist-ts/console/console/index.js';
import { LuaScriptError } from '@dnsdist-ts/lua/lua/lua-errors.js';
import { VERSION, COMPATIBLE_DNSDIST_VERSION } from '@dnsdist-ts/dataplane/version.js';
import { prelaunchWorkers } from '@dnsdist-ts/workers/workers/worker-pool.js';
import { dataPlaneWorkerEntry } from '../app/worker-entry-url.js';
import { CommandLineError, parseCommandLine, USAGE, type CommandLine } from './command-line.js';
import { PrivilegeError, resolveIdentity, switchIdentity, type Identity } from './privileges.js';
import { ServiceNotifier } from './service-notify.js';

function fatal(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

async function runClient(cl: CommandLine): Promise<number> {
  const app = new DnsdistApp({ configFile: cl.config, clientMode: true, output: () => {} });
  try {
    app.runtime.runFile(cl.config);
  } catch (err) {
    // A client can still work from -c ADDR and -k KEY without a readable configuration.
    if (!(cl.client && cl.setKey)) throw err;
  }
  const con = app.consoleSettings;
  const address = cl.client !== undefined && cl.client !== '' ? cl.client : con.addresses[con.addresses.length - 1];
  if (!address) fatal(`No console address: use controlSocket() in ${cl.config} or -c IP[:PORT]`);
  const keyText = cl.setKey ?? con.key;
  if (keyText === undefined) fatal(`No console key: use setKey() in ${cl.config} or -k KEY`);
  const key = parseConsoleKey(keyText, cl.setKey ? '-k' : 'setKey');
  const hostPort = address.includes(':') && !address.startsWith('[') && address.split(':').length === 2 ? address : address;
  const [host, port] = splitHostPort(hostPort);
  if (cl.execute !== undefined) {
    await ConsoleClient.runOnce({ host, port, key }, cl.execute, process.stdout);
    return 0;
  }
  const client = await ConsoleClient.connect({ host, port, key });
  try {
    await client.runInteractive(process.stdin, process.stdout, { prompt: process.stdin.isTTY ? '> ' : '' });
  } finally {
    await client.close();
  }
  return 0;
}

function splitHostPort(text: string): [string, number] {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (m) return [m[1]!, m[2] ? Number(m[2]) : DEFAULT_CONSOLE_PORT];
  const parts = text.split(':');
  if (parts.length === 2) return [parts[0]!, Number(parts[1])];
  return [text, DEFAULT_CONSOLE_PORT];
}

async function main(): Promise<number> {
  let cl: CommandLine;
  try {
    cl = parseCommandLine(process.argv.slice(2));
  } catch (err) {
    if (err instanceof CommandLineError) fatal(`${err.message}\n\n${USAGE}`);
    throw err;
  }
  if (cl.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (cl.version) {
    process.stdout.write(`dnsdist-ts ${VERSION} (dnsdist ${COMPATIBLE_DNSDIST_VERSION} compatible)\n`);
    return 0;
  }
  if (cl.client !== undefined) return runClient(cl);
  // The data-plane workers' threads load their modules while the configuration is read (worker-pool.ts).
  if (cl.workers !== undefined && cl.workers > 1 && !cl.checkConfig) prelaunchWorkers(cl.workers, dataPlaneWorkerEntry());

  try {
    readFileSync(cl.config);
  } catch (err) {
    fatal(`Unable to read configuration file '${cl.config}': ${(err as Error).message}`);
  }
  // -u/-g are resolved before anything is bound or pinned: an unknown user stops start-up here.
  let identity: Identity;
  try {
    identity = resolveIdentity(cl.uid, cl.gid);
  } catch (err) {
    if (!(err instanceof PrivilegeError)) throw err;
    if (cl.checkConfig) {
      process.stdout.write(`Fatal error: ${err.message}\n`);
      return 1;
    }
    fatal(`Fatal error: ${err.message}`);
  }
  const app = new DnsdistApp({
    configFile: cl.config,
    locals: cl.locals,
    acls: cl.acls,
    ...(cl.setKey !== undefined ? { consoleKey: cl.setKey } : {}),
    backends: cl.backends,
    verbose: cl.verbose,
    udpImplementation: cl.udpIo,
    ...(cl.workers !== undefined ? { workers: cl.workers } : {}),
    quiet: cl.checkConfig,
    checkConfig: cl.checkConfig,
  });
  try {
    await app.loadConfiguration();
  } catch (err) {
    const msg = err instanceof LuaScriptError ? `Fatal Lua error: ${err.message}` : `Fatal error: ${(err as Error).message}`;
    if (cl.checkConfig) {
      process.stdout.write(`${msg}\n`);
      return 1;
    }
    fatal(msg);
  }
  if (cl.checkConfig) {
    process.stdout.write(`Configuration '${cl.config}' OK!\n`);
    return 0;
  }
  // Handlers go in before start-up: "Listening on …" is printed while start()
  // is still running, and a supervisor may send SIGTERM as soon as it sees it.
  // A signal during start-up is kept and acted on once start() has finished.
  let started = false;
  let stopRequested = false;
  const notifier = ServiceNotifier.fromEnvironment(process.env, (line) => process.stderr.write(`${line}\n`));
  const onSignal = (): void => {
    if (!stopRequested) notifier?.notify('STOPPING=1');
    stopRequested = true;
    if (started) void app.stop();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    await app.start();
  } catch (err) {
    await app.stop();
    fatal(`Fatal error: ${(err as Error).message}`);
  }
  try {
    switchIdentity(identity, cl);
  } catch (err) {
    await app.stop();
    fatal(`Fatal error: ${(err as Error).message}`);
  }
  started = true;
  if (stopRequested) void app.stop();
  else notifier?.notify('READY=1');
  if (!cl.supervised && process.stdin.isTTY) {
    // dnsdist in the foreground reads console commands from the terminal.
    // Commands run sliced, as on the console socket, so typing one does not stop DNS; lines typed meanwhile wait their turn.
    const rl = createInterface({ input: process.stdin, output: process.stdout, prompt: '> ' });
    const stopping = new AbortController();
    let previous: Promise<void> = Promise.resolve();
    rl.prompt();
    rl.on('line', (line) => {
      previous = previous.then(async () => {
        if (line.trim() !== '') {
          try {
            process.stdout.write(await app.runConsoleCommandSliced(line, { signal: stopping.signal }));
          } catch {
            return; // cancelled: shutting down
          }
        }
        rl.prompt();
      });
    });
    rl.on('close', () => void app.stop());
    void app.stopped.then(() => {
      stopping.abort();
      rl.close();
    });
  }
  await app.stopped;
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    fatal(`Fatal error: ${err instanceof Error ? err.message : String(err)}`);
  },
);
