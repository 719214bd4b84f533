/** One `setLocal`/`addLocal` listener as configured (UDP and TCP on the same address). */
export interface FrontendConfig {
  /** "127.0.0.1", "::" … */
  host: string;
  port: number;
  reusePort: boolean;
  tcpListenQueueSize: number;
  maxInFlight: number;
  maxConcurrentTCPConnections: number;
  /** Accepted for compatibility; see docs/compatibility.md. */
  tcpFastOpenQueueSize: number;
  interface: string;
  cpus: number[];
  /** Came from the command line (-l): replaces the config's plain listeners. */
  fromCommandLine: boolean;
  /** What asked for this listener, for bind errors: `addLocal("127.0.0.1:53")`, `-l 127.0.0.1:53`. */
  requestedBy?: string;
}

/** dnsdist's default listen address when none is configured. */
export const DEFAULT_LOCAL = { host: '127.0.0.1', port: 53 };

/** dnsdist's default client ACL. */
export const DEFAULT_ACL = [
  '127.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '169.254.0.0/16',
  '192.168.0.0/16',
  '172.16.0.0/12',
  '::1/128',
  'fc00::/7',
  'fe80::/10',
];
