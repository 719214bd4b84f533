/**
 * The console's TCP address as controlSocket() and `dnsdist -c` take it:
 * "ip[:port]", IPv6 in brackets when a port follows, port 5199 by default.
 */
import { AddressParseError, formatAddress, parseAddressWithPort } from '@dnsdist-ts/dns';
import { ConsoleAddressError } from './console-errors.js';

/** dnsdist's console port when controlSocket() names none. */
export const DEFAULT_CONSOLE_PORT = 5199;

/** A parsed console address, in the shape node:net wants. */
export interface ConsoleAddress {
  /** Address text without brackets: "127.0.0.1", "::1". */
  host: string;
  port: number;
  family: 4 | 6;
}

/**
 * Parse "127.0.0.1", "127.0.0.1:5199", "[::1]:5199" or "::1".
 *
 * @param context - who asks, for the error message ("controlSocket", "-c").
 * @throws ConsoleAddressError naming the input and what is wrong with it.
 */
export function parseConsoleAddress(text: string, context = 'controlSocket'): ConsoleAddress {
  try {
    const parsed = parseAddressWithPort(text, DEFAULT_CONSOLE_PORT);
    return { host: formatAddress(parsed.bytes), port: parsed.port, family: parsed.family };
  } catch (e) {
    if (!(e instanceof AddressParseError)) throw e;
    throw new ConsoleAddressError(`${context}: ${e.message}; expected "ip[:port]" such as "127.0.0.1:5199" or "[::1]:5199"`, text);
  }
}

/** "127.0.0.1:5199" / "[::1]:5199", as dnsdist prints a ComboAddress with its port. */
export function formatConsoleAddress(address: { host: string; port: number }): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
