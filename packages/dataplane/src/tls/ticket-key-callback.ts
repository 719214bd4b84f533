import type tls from 'node:tls';
import type { TicketKeyRing } from './ticket-key-ring.js';
import { TlsConfigError } from './tls-config-error.js';

/** Node's native secure context: the ticket key callback lives there. */
interface NativeSecureContext {
  enableTicketKeyCallback(): void;
  onticketkeycallback?: (name: Buffer, iv: Buffer, encrypt: boolean) => unknown;
}

/**
 * Make `ring` encrypt and decrypt the session tickets of `ctx`. Node keeps
 * one ticket key per context; OpenSSL's ticket key callback, which Node's
 * native context still exposes, lets several keys decrypt while one
 * encrypts, as dnsdist's rotation needs. Used for DoT contexts and for the
 * context under a DoH listener's HTTP/2 server alike.
 */
export function installTicketKeyCallback(ctx: tls.SecureContext, ring: TicketKeyRing): void {
  const native = (ctx as unknown as { context: NativeSecureContext }).context;
  if (typeof native?.enableTicketKeyCallback !== 'function') {
    throw new TlsConfigError('this Node.js has no TLS ticket key callback: run with sessionTickets=false', 'sessionTickets');
  }
  native.onticketkeycallback = (name, iv, encrypt) => ring.callback(name, iv, encrypt);
  native.enableTicketKeyCallback();
}
