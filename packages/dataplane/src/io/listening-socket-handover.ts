/**
 * Listening sockets that outlive the data-plane worker that bound them.
 * Every worker binds each listener with SO_REUSEPORT; the kernel only lets
 * a socket join a port's SO_REUSEPORT group when its user is the user who
 * bound the first one, so a worker started again after the process switched
 * user (-u) could not bind again. Instead, the control plane keeps a
 * duplicate of each listening socket a worker bound, and a worker started
 * in its place takes those (the sockets never left their group: datagrams
 * and connections that came meanwhile wait in them).
 *
 * The endpoints ask the hook of their thread, if one is set: only a
 * data-plane worker sets one (workers/worker-socket-handover.ts).
 */

/** What the listener is: a UDP socket or a listening TCP socket. */
export type ListeningSocketKind = 'udp' | 'tcp';

export interface ListeningSocketHandover {
  /**
   * A socket of this process already bound for the next listener on
   * `host`:`port`, or undefined: bind one. The fd stays the control
   * plane's: the caller uses a duplicate of it.
   */
  take(kind: ListeningSocketKind, host: string, port: number): number | undefined;
  /** The next listener on `host`, bound to `port`, is `fd` (still the caller's: the hook keeps a duplicate). */
  bound(kind: ListeningSocketKind, host: string, port: number, fd: number): void;
}

let current: ListeningSocketHandover | undefined;

/** This thread's hook (a data-plane worker sets it before its listeners start). */
export function setListeningSocketHandover(handover: ListeningSocketHandover | undefined): void {
  current = handover;
}

export function listeningSocketHandover(): ListeningSocketHandover | undefined {
  return current;
}
