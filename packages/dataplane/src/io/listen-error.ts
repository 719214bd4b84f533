/**
 * Listener bind failures that say which configuration line asked for the
 * socket. Node's own text ("listen EADDRINUSE: address already in use
 * 127.0.0.1:5199") names neither the function nor the kind of listener,
 * so with several listeners an operator cannot tell which one failed.
 */

/** Transport of the socket that could not be bound. */
export type ListenProtocol = 'udp' | 'tcp';

/** strerror-style text for the errors a bind or listen can give. */
const ERRNO_TEXT: Readonly<Record<string, string>> = {
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'address not available',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EAFNOSUPPORT: 'address family not supported',
  EINVAL: 'invalid argument',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in system',
  ENOBUFS: 'no buffer space available',
  ENOMEM: 'out of memory',
};

/** What to do about it, when there is something useful to say. */
const ERRNO_HINT: Readonly<Record<string, string>> = {
  EADDRINUSE: 'another socket holds this address and port: stop it or choose another port',
  EADDRNOTAVAIL: 'the address is not configured on any local interface (see `ip addr`)',
  EACCES: 'ports below 1024 need root or CAP_NET_BIND_SERVICE',
  EPERM: 'ports below 1024 need root or CAP_NET_BIND_SERVICE',
  EAFNOSUPPORT: 'this address family is not available on this host (IPv6 disabled?)',
  EMFILE: 'raise the file descriptor limit (ulimit -n)',
  ENFILE: 'raise the system file limit or free sockets',
};

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * A listener could not be bound. `requestedBy` is the configuration that
 * asked for it (`controlSocket("127.0.0.1:5199")`, `addLocal("[::1]:53")`,
 * `-l 127.0.0.1:5300`), `code` the errno name when there is one; the
 * original error is the `cause`.
 */
export class ListenError extends Error {
  readonly requestedBy: string;
  /** "127.0.0.1:5199", "[::1]:53". */
  readonly address: string;
  readonly protocol: ListenProtocol;
  readonly code: string | undefined;
  readonly host: string;
  readonly port: number;

  constructor(requestedBy: string, host: string, port: number, protocol: ListenProtocol, cause: unknown) {
    const code = errnoCode(cause);
    const address = hostPort(host, port);
    const what = code ? `${ERRNO_TEXT[code] ?? code.toLowerCase()} (${code})` : cause instanceof Error ? cause.message : String(cause);
    const hint = code ? ERRNO_HINT[code] : undefined;
    super(`${requestedBy}: cannot listen on ${address}/${protocol}: ${what}${hint ? `; ${hint}` : ''}`, { cause });
    this.name = new.target.name;
    this.requestedBy = requestedBy;
    this.address = address;
    this.protocol = protocol;
    this.code = code;
    this.host = host;
    this.port = port;
  }
}

function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

/** `err`, from binding a listener, as a ListenError naming `requestedBy` (unchanged when it is one already). */
export function listenError(err: unknown, requestedBy: string, host: string, port: number, protocol: ListenProtocol): ListenError {
  return err instanceof ListenError ? err : new ListenError(requestedBy, host, port, protocol, err);
}
