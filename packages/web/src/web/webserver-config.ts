import { NetmaskGroup } from '@dnsdist-ts/dns';
import { sortMasks } from '@dnsdist-ts/dataplane/server/dnsdist-proxy.js';
import type { CredentialsHolder } from './credentials.js';
import { DEFAULT_BODY_DEADLINE_MS, DEFAULT_HEADER_DEADLINE_MS, DEFAULT_SEND_STALL_MS } from './webserver-limits.js';

/** dnsdist's default webserver ACL (since 1.5.0): loopback only. */
export const DEFAULT_WEBSERVER_ACL = '127.0.0.1, ::1';

/** An ACL text of comma-separated ranges ("192.0.2.0/24, !192.0.2.1") as a NetmaskGroup. */
export function parseWebserverAcl(text: string): NetmaskGroup {
  const nmg = new NetmaskGroup();
  for (const part of text.split(/[,\s]+/)) if (part !== '') nmg.addMask(part);
  return nmg;
}

/**
 * The webserver's settings (dnsdist's WebserverConfig plus the API's
 * writability), changed by `webserver()`, `setWebserverConfig{}` and
 * `setAPIWritable()`; read on every request, so changes apply at once.
 */
export class WebserverConfig {
  password: CredentialsHolder | undefined;
  apiKey: CredentialsHolder | undefined;
  acl: NetmaskGroup = parseWebserverAcl(DEFAULT_WEBSERVER_ACL);
  /** Extra response headers; an empty value removes a default security header of that name. */
  customHeaders: Map<string, string> | undefined;
  statsRequireAuthentication = true;
  maxConcurrentConnections = 100;
  /** setAPIWritable: PUT allow-from and the block API's POST/DELETE are allowed. */
  apiWritable = false;
  /** Where an API change to the ACL is saved as `acl.conf` ("" = not saved). */
  apiConfigDir = '';
  /**
   * Milliseconds from accepting a connection to its request headers being
   * complete; slower connections are closed (408) and free their slot.
   * Not a dnsdist setting: no Lua key, not in showWebserverConfig().
   */
  headerDeadlineMs = DEFAULT_HEADER_DEADLINE_MS;
  /** Milliseconds from the headers to the body being complete (408 after); as headerDeadlineMs, TypeScript only. */
  bodyDeadlineMs = DEFAULT_BODY_DEADLINE_MS;
  /** Milliseconds a response may wait for the client to take its next bytes before it is closed; as headerDeadlineMs, TypeScript only. */
  sendStallMs = DEFAULT_SEND_STALL_MS;

  /** showWebserverConfig()'s text, as dnsdist 1.7.3 prints it. */
  describe(): string {
    let out = 'Current web server configuration:\n';
    out += `ACL: ${sortMasks(this.acl.toStrings()).join(', ')}\n`;
    out += 'Custom headers: ';
    if (this.customHeaders) {
      out += '\n';
      for (const [k, v] of [...this.customHeaders].sort(([a], [b]) => (a < b ? -1 : 1))) out += ` - ${k}: ${v}\n`;
    } else {
      out += 'None\n';
    }
    out += `Statistics require authentication: ${this.statsRequireAuthentication ? 'yes' : 'no'}\n`;
    out += `Password: ${this.password ? 'set' : 'unset'}\n`;
    out += `API key: ${this.apiKey ? 'set' : 'unset'}\n`;
    out += `API writable: ${this.apiWritable ? 'yes' : 'no'}\n`;
    out += `API configuration directory: ${this.apiConfigDir}\n`;
    out += `Maximum concurrent connections: ${this.maxConcurrentConnections}\n`;
    return out;
  }
}
