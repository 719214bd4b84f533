import type { Socket as DgramSocket } from 'node:dgram';
import type { Server, Socket as NetSocket } from 'node:net';
import type { BpfProgram } from './bpf-program.js';
import { BpfError, call } from './errors.js';
import { native } from './native.js';

/** Anything that has an OS socket underneath. */
export type SocketLike = DgramSocket | Server | NetSocket | number;

/**
 * The file descriptor under a Node socket. Node exposes it only on the
 * internal handle; this is the one place that reads it. The socket must be
 * bound (dgram) or listening (net.Server).
 */
export function socketFd(sock: SocketLike): number {
  if (typeof sock === 'number') return sock;
  const fd = handleOf(sock)?.fd;
  if (typeof fd !== 'number' || fd < 0) {
    throw new BpfError('socket has no file descriptor yet: bind the dgram socket or start listening first', {
      code: 'EBADF',
      op: 'socket filter attach',
      hint: "wait for the 'listening' event before attaching",
    });
  }
  return fd;
}

/** SO_ATTACH_BPF: run `prog` (a socket filter) on every packet the socket receives. */
export function attachSocketFilter(sock: SocketLike, prog: BpfProgram): void {
  const fd = socketFd(sock);
  call('socket filter attach', `fd ${fd}`, () => native().sockAttach(fd, prog.fd));
}

/**
 * SO_ATTACH_BPF with a program given by its descriptor number: a
 * worker_threads worker attaches the program its process's main thread
 * loaded (threads share the descriptor table).
 */
export function attachSocketFilterFd(sock: SocketLike, progFd: number): void {
  const fd = socketFd(sock);
  call('socket filter attach', `fd ${fd}`, () => native().sockAttach(fd, progFd));
}

/** SO_DETACH_BPF: remove the socket's filter. */
export function detachSocketFilter(sock: SocketLike): void {
  const fd = socketFd(sock);
  call('socket filter detach', `fd ${fd}`, () => native().sockDetach(fd));
}

interface HandleWithFd {
  fd?: number;
}

/**
 * dgram keeps its handle in a symbol-keyed state object; its `_handle`
 * getter prints a deprecation warning (DEP0112), so read the state instead.
 * net sockets and servers expose `_handle` without a warning.
 */
function handleOf(sock: DgramSocket | Server | NetSocket): HandleWithFd | undefined {
  for (const sym of Object.getOwnPropertySymbols(sock)) {
    if (sym.description !== 'state symbol') continue;
    const state = (sock as unknown as Record<symbol, { handle?: HandleWithFd } | undefined>)[sym];
    if (state && 'handle' in state) return state.handle;
  }
  return (sock as unknown as { _handle?: HandleWithFd })._handle ?? undefined;
}
