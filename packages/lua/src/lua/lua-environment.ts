import type { ConsoleSettings } from '@dnsdist-ts/console/console/console-settings.js';
import type { DnsdistProxy } from '@dnsdist-ts/dataplane/server/dnsdist-proxy.js';
import { LuaBindingError } from './lua-errors.js';
import type { LuaRuntime } from './lua-runtime.js';

/**
 * What every binding module gets: the runtime, the proxy it configures, the
 * console settings, and the phase. dnsdist refuses some functions once the
 * configuration is done ("… cannot be used at runtime!") and makes others
 * no-ops in console-client mode; the same checks live here.
 */
export class LuaEnvironment {
  readonly runtime: LuaRuntime;
  readonly proxy: DnsdistProxy;
  /** The application's console settings, which controlSocket(), setKey() and friends fill. */
  readonly console: ConsoleSettings;
  /** Parsing the config only to find the console (dnsdist -c): side effects are skipped. */
  readonly clientMode: boolean;
  /** True once the configuration file has run (console commands run after). */
  configurationDone = false;
  /** Promises that must settle before start-up (e.g. servers added from the config). */
  readonly pending: Promise<unknown>[] = [];

  constructor(runtime: LuaRuntime, proxy: DnsdistProxy, consoleSettings: ConsoleSettings, clientMode: boolean) {
    this.runtime = runtime;
    this.proxy = proxy;
    this.console = consoleSettings;
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
