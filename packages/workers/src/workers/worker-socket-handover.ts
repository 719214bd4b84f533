/**
 * The listening sockets a data-plane worker bound, kept open by the control
 * plane so that a worker started in its place takes them instead of binding
 * again (dataplane io/listening-socket-handover.ts says why: after -u the
 * kernel refuses to add a socket to a port's SO_REUSEPORT group that root
 * created). Sockets are fds, valid in every thread of the process.
 *
 * A listener is named by its kind, address, port and rank among the
 * listeners with the same three (addLocal repeated with reusePort=true).
 * The worker sends a duplicate of each new socket's fd with its name; the
 * control plane owns that duplicate from then on (so a worker that dies
 * right after binding leaves nothing dangling) and closes it when the pool
 * stops.
 */
import { closeSync } from 'node:fs';
import type { ListeningSocketHandover, ListeningSocketKind } from '@dnsdist-ts/dataplane/io/listening-socket-handover.js';
import { loadNativeUdpAddon } from '@dnsdist-ts/dataplane/io/native-udp-addon.js';

/** A data-plane worker's side: takes what its predecessor bound, reports what it binds. */
export class WorkerSocketHandover implements ListeningSocketHandover {
  readonly #inherited: ReadonlyMap<string, number>;
  readonly #send: (name: string, fd: number) => void;
  /** Listeners bound so far per kind, address and port: the next one's rank. */
  readonly #ranks = new Map<string, number>();

  /** `inherited`: the control plane's sockets by name; `send`: hand the control plane an fd it owns from then on. */
  constructor(inherited: ReadonlyArray<readonly [string, number]>, send: (name: string, fd: number) => void) {
    this.#inherited = new Map(inherited);
    this.#send = send;
  }

  take(kind: ListeningSocketKind, host: string, port: number): number | undefined {
    // Port 0 is a first start's: there is nothing to take yet.
    if (port === 0) return undefined;
    const base = `${kind} ${host} ${port}`;
    return this.#inherited.get(`${base} #${this.#ranks.get(base) ?? 0}`);
  }

  bound(kind: ListeningSocketKind, host: string, port: number, fd: number): void {
    const base = `${kind} ${host} ${port}`;
    const rank = this.#ranks.get(base) ?? 0;
    this.#ranks.set(base, rank + 1);
    const name = `${base} #${rank}`;
    if (this.#inherited.has(name)) return;
    this.#send(name, loadNativeUdpAddon().dupFd(fd));
  }
}

/** The control plane's side: each worker slot's sockets, by name. */
export class HeldListeningSockets {
  readonly #slots: Array<Map<string, number>>;

  constructor(workers: number) {
    this.#slots = Array.from({ length: workers }, () => new Map<string, number>());
  }

  /** Worker `index` bound `name` and sent `fd`, a duplicate that is ours from now on. */
  keep(index: number, name: string, fd: number): void {
    const held = this.#slots[index];
    if (!held || held.has(name)) {
      // Not ours to keep (a name seen already): close it rather than leak it.
      closeSync(fd);
      return;
    }
    held.set(name, fd);
  }

  /** What a worker started in slot `index` takes. */
  inherited(index: number): Array<[string, number]> {
    return [...(this.#slots[index] ?? [])];
  }

  /**
   * A worker in slot `index` failed to start: close the slot's sockets, so
   * that the kernel spreads their clients over the other workers' sockets
   * while no worker reads these (the next start binds its own).
   */
  release(index: number): void {
    const held = this.#slots[index];
    if (!held) return;
    for (const fd of held.values()) closeSync(fd);
    held.clear();
  }

  /** The pool stopped: the sockets close with it. */
  closeAll(): void {
    for (let i = 0; i < this.#slots.length; i++) this.release(i);
  }
}
