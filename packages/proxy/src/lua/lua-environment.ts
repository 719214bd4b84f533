import { NetmaskGroup } from '@dnsdist-ts/dns';
import type { DnsdistProxy } from '../server/dnsdist-proxy.js';
import { LuaBindingError } from './lua-errors.js';
import type { LuaRuntime } from './lua-runtime.js';

/** Console settings gathered from the configuration (controlSocket, setKey, …). */
export class ConsoleSettings {
  addresses: string[] = [];
  /** The key as given (base64), validated when used; -k on the command line wins. */
  key: string | undefined;
  keyFromCommandLine = false;
  acl = new NetmaskGroup().addMask('127.0.0.0/8').addMask('::1/128');
  maxConcurrentConnections = 100;
  maxMessageSize = 10_000_000;
  logConnections = true;
  /** setConsoleCommandTimeout(): a console command running longer is aborted; 0: no limit. */
  commandTimeoutSeconds = 10;
}

/**
 * What every binding module gets: the runtime, the proxy it configures, and
 * the phase. dnsdist refuses some functions once the configuration is
 * done ("… cannot be used at runtime!") and makes others no-ops in
 * console-client mode; the same checks live here.
 */
export class LuaEnvironment {
  readonly runtime: LuaRuntime;
  readonly proxy: DnsdistProxy;
  readonly console = new ConsoleSettings();
  /** Parsing the config only to find the console (dnsdist -c): side effects are skipped. */
  readonly clientMode: boolean;
  /** True once the configuration file has run (console commands run after). */
  configurationDone = false;
  /** Promises that must settle before start-up (e.g. servers added from the config). */
  readonly pending: Promise<unknown>[] = [];

  constructor(runtime: LuaRuntime, proxy: DnsdistProxy, clientMode: boolean) {
    this.runtime = runtime;
    this.proxy = proxy;
    this.clientMode = clientMode;
  }

  /** dnsdist's guard for configuration-time-only functions: prints and returns false at runtime. */
  configOnly(fn: string): boolean {
    if (this.configurationDone) {
      this.runtime.print(`${fn} cannot be used at runtime!`);
      return false;
    }
    return true;
  }

  /** Print a warning line (goes to the console reply when a console command runs). */
  warn(line: string): void {
    if (this.configurationDone) this.runtime.print(line);
    this.proxy.log.warn(line);
  }

  fail(message: string): never {
    throw new LuaBindingError(message);
  }
}
