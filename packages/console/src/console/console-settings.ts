import type { NetmaskGroup } from '@dnsdist-ts/dns';
import { DEFAULT_CONSOLE_MAX_MESSAGE_SIZE } from './console-framing.js';
import { parseConsoleKey } from './console-key.js';
import { DEFAULT_CONSOLE_MAX_CONNECTIONS, defaultConsoleACL, type ConsoleServerOptions } from './console-server.js';

/** What of the settings a running ConsoleServer takes (again on each change, see ConsoleSettings.serverOptions). */
export type ConsoleLiveOptions = Required<
  Pick<ConsoleServerOptions, 'key' | 'acl' | 'maxConcurrentConnections' | 'maxMessageSize' | 'logConnections'>
>;

/**
 * The console as the configuration describes it (controlSocket, setKey,
 * setConsoleACL, …) and the command line amends it (-k). The application
 * owns one, gives it to the Lua environment for the bindings to fill, and
 * starts (and updates) its ConsoleServer from it.
 */
export class ConsoleSettings {
  addresses: string[] = [];
  /** The key as given (base64), validated when used; -k on the command line wins. */
  key: string | undefined;
  keyFromCommandLine = false;
  acl: NetmaskGroup = defaultConsoleACL();
  maxConcurrentConnections = DEFAULT_CONSOLE_MAX_CONNECTIONS;
  maxMessageSize = DEFAULT_CONSOLE_MAX_MESSAGE_SIZE;
  logConnections = true;
  /** setConsoleCommandTimeout(): a console command running longer is aborted; 0: no limit. */
  commandTimeoutSeconds = 10;

  /** The server side of these settings, the key parsed (throws ConsoleKeyError for a bad one). */
  serverOptions(): ConsoleLiveOptions {
    return {
      key: this.key !== undefined ? parseConsoleKey(this.key) : undefined,
      acl: this.acl,
      maxConcurrentConnections: this.maxConcurrentConnections,
      maxMessageSize: this.maxMessageSize,
      logConnections: this.logConnections,
    };
  }
}
