/**
 * `UdpEndpoint` on the native addon: the addon owns the socket, drains it
 * with recvmmsg (up to `batchSize` datagrams per system call) when libuv
 * reports it readable, and calls back into JavaScript once per batch; this
 * class then calls the datagram handler for each datagram with views that
 * were created once at construction, so the per-datagram path allocates
 * nothing. Sends are copied into a shared arena and leave in one sendmmsg
 * per flush.
 *
 * Behaviour worth knowing:
 * - Datagrams larger than `maxDatagramSize` (default 4096, the largest
 *   EDNS payload DNS software commonly advertises) are dropped and counted
 *   in `truncated`; raise it (up to 65535) if bigger ones must get through.
 * - Queued sends go out at the end of the current receive batch, on
 *   `flush()`, when the send arena or batch is full, or at the latest at the
 *   end of the current microtask checkpoint (so a send made while handling
 *   another socket's batch leaves with that batch's other sends).
 * - A full socket send buffer (EAGAIN) drops the rest of that flush and
 *   counts it in `sendErrors` instead of holding datagrams across event-loop
 *   turns: DNS clients retry, and `sendBufferSize` is the knob to turn.
 * - A handler that throws does not cost the rest of its batch: the others
 *   are still dispatched and the queued sends flushed, then the first error
 *   is rethrown and surfaces as an uncaught exception, as it would from a
 *   `dgram` 'message' listener.
 */
import { listeningSocketHandover } from './listening-socket-handover.js';
import { enterBatchDispatch, flushAfterBatch, inBatchDispatch, leaveBatchDispatch } from './batch-dispatch-scope.js';
import { resetCoarseClock } from '../query/coarse-clock.js';
import { constants as osConstants } from 'node:os';
import { markAsUntransferable } from 'node:worker_threads';
import { formatAddress, parseAddress } from '@dnsdist-ts/dns';
import { loadNativeUdpAddon, NativeUdpStat, type NativeUdpSocket } from './native-udp-addon.js';
import type { UdpDatagramHandler, UdpEndpoint, UdpEndpointOptions } from './udp-endpoint.js';

export { nativeUdpAvailable, NativeUdpUnavailableError } from './native-udp-addon.js';

/** Largest UDP payload a datagram can carry. */
const MAX_UDP_PAYLOAD = 65535;
const EINVAL = osConstants.errno.EINVAL;
const EMSGSIZE = osConstants.errno.EMSGSIZE;
const EBADF = osConstants.errno.EBADF;

/** Knobs of the native endpoint beyond `UdpEndpointOptions`. */
export interface NativeUdpEndpointTuning {
  /** Datagrams per recvmmsg/sendmmsg call, 1 to 1024; default 64. */
  batchSize?: number;
  /**
   * Receive slot size in bytes, 512 to 65535; default 4096. Larger
   * datagrams are dropped and counted in `truncated`. Memory per endpoint
   * is about `batchSize × maxDatagramSize` for receiving plus as much again
   * (at least 64 KiB) for sending.
   */
  maxDatagramSize?: number;
}

/** An option outside its valid range; `option` and `value` say which and what. */
export class NativeUdpOptionError extends RangeError {
  readonly option: string;
  readonly value: unknown;

  constructor(message: string, option: string, value: unknown) {
    super(message);
    this.name = new.target.name;
    this.option = option;
    this.value = value;
  }
}

/** Creating or binding the socket failed; `code` is the errno name, `op` the failing step. */
export class NativeUdpBindError extends Error {
  readonly code: string;
  readonly errno: number | undefined;
  /** 'socket', 'bind', 'setsockopt SO_REUSEPORT', … */
  readonly op: string;
  readonly address: string;
  readonly port: number;
  /** What to do about it, when there is something to say. */
  readonly hint: string | undefined;

  constructor(message: string, d: { code: string; errno?: number; op: string; address: string; port: number; hint?: string }) {
    super(message);
    this.name = new.target.name;
    this.code = d.code;
    this.errno = d.errno;
    this.op = d.op;
    this.address = d.address;
    this.port = d.port;
    this.hint = d.hint;
  }
}

function bindHint(code: string): string | undefined {
  switch (code) {
    case 'EADDRINUSE':
      return 'another socket holds this address and port: stop it, choose another port, or set reusePort on every socket that shares it';
    case 'EACCES':
    case 'EPERM':
      return 'ports below 1024 need root or CAP_NET_BIND_SERVICE';
    case 'EADDRNOTAVAIL':
      return 'the address is not configured on any local interface (see `ip addr`)';
    case 'EAFNOSUPPORT':
      return 'this address family is not available on this host (IPv6 disabled?)';
    case 'ENETUNREACH':
      return 'no route to that address (see `ip route`)';
    case 'ENOBUFS':
    case 'ENOMEM':
    case 'EMFILE':
    case 'ENFILE':
      return 'the system is out of sockets or memory for them: raise the file descriptor limit or free resources';
    default:
      return undefined;
  }
}

/**
 * The addon's errno errors (with `code` and `op`) as a NativeUdpBindError
 * saying what failed on which address; anything else unchanged.
 */
function socketError(e: unknown, action: string, address: string, port: number): unknown {
  const n = e as { code?: string; errno?: number; op?: string; message?: string };
  if (typeof n.code !== 'string' || typeof n.op !== 'string') return e;
  const where = address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
  return new NativeUdpBindError(`cannot ${action} ${where}: ${n.message ?? n.code}`, {
    code: n.code,
    errno: n.errno,
    op: n.op,
    address,
    port,
    hint: bindHint(n.code),
  });
}

function checkInteger(option: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new NativeUdpOptionError(`${option} must be an integer from ${min} to ${max}, got ${String(value)}`, option, value);
  }
  return value;
}

/** A fresh zeroed ArrayBuffer the addon can hold raw pointers into: it must never be detached. */
function sharedBuffer(bytes: number): ArrayBuffer {
  const buffer = new ArrayBuffer(bytes);
  markAsUntransferable(buffer);
  return buffer;
}

/**
 * The native `UdpEndpoint`. Create it with `createNativeUdpEndpoint`; the
 * counters beyond the interface (`batches`, `datagrams`, `truncated`…)
 * are there for statistics and tests.
 */
export class NativeUdpEndpoint implements UdpEndpoint {
  readonly kind = 'native' as const;
  readonly localAddress: string;
  readonly localPort: number;
  /** Effective SO_RCVBUF / SO_SNDBUF as the kernel reports them. */
  readonly receiveBufferSize: number;
  readonly sendBufferSize: number;
  readonly batchSize: number;
  readonly maxDatagramSize: number;
  readonly #fd: number;

  readonly #socket: NativeUdpSocket;
  readonly #stats: Float64Array;
  readonly #errnoName: (errno: number) => string;

  // Receive side: written by the addon before each batch callback.
  readonly #recvLengths: Int32Array;
  readonly #recvPorts: Uint16Array;
  readonly #recvFamilies: Uint8Array;
  /** Per slot: the slot's bytes, its source as a 4-byte and as a 16-byte view. */
  readonly #slotData: Buffer[] = [];
  readonly #fromV4: Uint8Array[] = [];
  readonly #fromV6: Uint8Array[] = [];
  /** On a wildcard bind: each slot's destination family (0: unknown) and address views; undefined otherwise. */
  readonly #toFamilies: Uint8Array | undefined;
  readonly #toV4: Uint8Array[] = [];
  readonly #toV6: Uint8Array[] = [];

  // Send side: filled here, read by the addon on flush.
  readonly #sendArena: Buffer;
  readonly #sendOffsets: Int32Array;
  readonly #sendLengths: Int32Array;
  readonly #sendAddresses: Uint8Array;
  readonly #sendPorts: Uint16Array;
  readonly #sendFamilies: Uint8Array;
  /** On a wildcard bind: the source address of each queued datagram (family 0: the kernel's choice). */
  readonly #sendSources: Uint8Array | undefined;
  readonly #sendSourceFamilies: Uint8Array | undefined;
  #pending = 0;
  #sendUsed = 0;

  #handler: UdpDatagramHandler | undefined;
  #inBatch = false;
  #flushQueued = false;
  #closing: Promise<void> | undefined;

  /** Use `createNativeUdpEndpoint`. */
  constructor(options: UdpEndpointOptions, tuning: NativeUdpEndpointTuning = {}) {
    const binding = loadNativeUdpAddon();
    const batch = checkInteger('batchSize', tuning.batchSize ?? 64, 1, binding.maxBatch);
    const slotSize = checkInteger('maxDatagramSize', tuning.maxDatagramSize ?? 4096, 512, MAX_UDP_PAYLOAD);
    const port = checkInteger('port', options.port, 0, 65535);
    const receiveBufferSize = checkInteger('receiveBufferSize', options.receiveBufferSize ?? 0, 0, 0x7fffffff);
    const sendBufferSize = checkInteger('sendBufferSize', options.sendBufferSize ?? 0, 0, 0x7fffffff);
    const local = parseAddress(options.address);
    this.batchSize = batch;
    this.maxDatagramSize = slotSize;

    const recvArena = sharedBuffer(batch * slotSize);
    const recvAddresses = new Uint8Array(sharedBuffer(16 * batch));
    this.#recvLengths = new Int32Array(sharedBuffer(4 * batch));
    this.#recvPorts = new Uint16Array(sharedBuffer(2 * batch));
    this.#recvFamilies = new Uint8Array(sharedBuffer(batch));
    for (let i = 0; i < batch; i++) {
      this.#slotData.push(Buffer.from(recvArena, i * slotSize, slotSize));
      this.#fromV4.push(recvAddresses.subarray(16 * i, 16 * i + 4));
      this.#fromV6.push(recvAddresses.subarray(16 * i, 16 * i + 16));
    }
    // A wildcard bind asks the kernel where each datagram went (dnsdist's dq.localaddr) and answers
    // from there: without it, a host with several addresses would answer from whichever the route picks.
    const wildcard = local.bytes.every((b) => b === 0) && options.connect === undefined;
    const recvDestinations = wildcard ? new Uint8Array(sharedBuffer(16 * batch)) : undefined;
    this.#toFamilies = wildcard ? new Uint8Array(sharedBuffer(batch)) : undefined;
    if (recvDestinations) {
      for (let i = 0; i < batch; i++) {
        this.#toV4.push(recvDestinations.subarray(16 * i, 16 * i + 4));
        this.#toV6.push(recvDestinations.subarray(16 * i, 16 * i + 16));
      }
    }
    this.#sendSources = wildcard ? new Uint8Array(sharedBuffer(16 * batch)) : undefined;
    this.#sendSourceFamilies = wildcard ? new Uint8Array(sharedBuffer(batch)) : undefined;

    this.#sendArena = Buffer.from(sharedBuffer(Math.max(MAX_UDP_PAYLOAD + 1, batch * slotSize)));
    this.#sendOffsets = new Int32Array(sharedBuffer(4 * batch));
    this.#sendLengths = new Int32Array(sharedBuffer(4 * batch));
    this.#sendAddresses = new Uint8Array(sharedBuffer(16 * batch));
    this.#sendPorts = new Uint16Array(sharedBuffer(2 * batch));
    this.#sendFamilies = new Uint8Array(sharedBuffer(batch));
    this.#stats = new Float64Array(sharedBuffer(8 * NativeUdpStat.count));
    this.#errnoName = binding.errnoName;

    const address = new Uint8Array(16);
    address.set(local.bytes);
    // A listener of a data-plane worker started again takes the socket its predecessor bound (listening-socket-handover.ts).
    const handover = options.reusePort === true && options.connect === undefined ? listeningSocketHandover() : undefined;
    const adoptFd = handover?.take('udp', options.address, port);
    try {
      this.#socket = new binding.UdpSocket(
        {
          family: local.family,
          address,
          port,
          reusePort: options.reusePort === true,
          receiveBufferSize,
          sendBufferSize,
          ...(adoptFd !== undefined ? { adoptFd } : {}),
        },
        {
          arena: new Uint8Array(recvArena),
          slotSize,
          lengths: this.#recvLengths,
          addresses: recvAddresses,
          ports: this.#recvPorts,
          families: this.#recvFamilies,
          ...(recvDestinations ? { destinations: recvDestinations, destinationFamilies: this.#toFamilies } : {}),
        },
        {
          arena: this.#sendArena,
          offsets: this.#sendOffsets,
          lengths: this.#sendLengths,
          addresses: this.#sendAddresses,
          ports: this.#sendPorts,
          families: this.#sendFamilies,
          ...(this.#sendSources ? { sources: this.#sendSources, sourceFamilies: this.#sendSourceFamilies } : {}),
        },
        this.#stats,
      );
    } catch (e) {
      throw socketError(e, 'listen on UDP', options.address, port);
    }
    if (options.connect !== undefined) this.#connect(options.connect);
    const info = this.#socket.info();
    this.localAddress = formatAddress(info.address.subarray(0, info.family === 4 ? 4 : 16));
    this.localPort = info.port;
    this.receiveBufferSize = info.receiveBufferSize;
    this.sendBufferSize = info.sendBufferSize;
    this.#fd = info.fd;
    handover?.bound('udp', options.address, this.localPort, info.fd);
  }

  #connect(peer: { address: string; port: number }): void {
    try {
      const port = checkInteger('connect.port', peer.port, 1, 65535);
      const bytes = parseAddress(peer.address).bytes;
      this.#socket.connect(bytes.length === 4 ? 4 : 6, bytes, port);
    } catch (e) {
      void this.#socket.close();
      throw socketError(e, 'connect a UDP socket to', peer.address, peer.port);
    }
  }

  /**
   * The socket's file descriptor, for attaching a BPF socket filter the way
   * dnsdist attaches its BPFFilter to frontends; -1 once closed. Do not
   * read from, write to or close it: the addon owns it.
   */
  get fd(): number {
    return this.#closing === undefined ? this.#fd : -1;
  }

  /**
   * Install the handler and start receiving. Until then datagrams wait in
   * the kernel's receive buffer. A second call replaces the handler.
   */
  onDatagram(handler: UdpDatagramHandler): void {
    this.#handler = handler;
    if (this.#closing === undefined) this.#socket.start(this.#onBatch);
  }

  /**
   * Queue `data[0..length)` for `to`:`toPort` (see the module notes for when
   * it leaves), from `from` on a wildcard bind when given.
   */
  send(data: Uint8Array, length: number, to: Uint8Array, toPort: number, from?: Uint8Array): void {
    const toLength = to.length;
    if (this.#closing !== undefined) return this.#reject(EBADF);
    if ((toLength !== 4 && toLength !== 16) || (toPort & 0xffff) !== toPort || length >>> 0 !== length || length > data.length) {
      return this.#reject(EINVAL);
    }
    if (length > MAX_UDP_PAYLOAD) return this.#reject(EMSGSIZE);
    if (this.#pending === this.batchSize || this.#sendUsed + length > this.#sendArena.length) this.flush();

    const i = this.#pending;
    const offset = this.#sendUsed;
    const arena = this.#sendArena;
    // DNS-sized datagrams: a byte loop allocates nothing, where Buffer#copy makes a temporary view.
    if (length <= 512) for (let j = 0; j < length; j++) arena[offset + j] = data[j]!;
    else if (length === data.length) arena.set(data, offset);
    else Buffer.prototype.copy.call(data, arena, offset, 0, length);
    this.#sendOffsets[i] = offset;
    this.#sendLengths[i] = length;
    this.#sendAddresses.set(to, 16 * i);
    this.#sendFamilies[i] = toLength === 4 ? 4 : 6;
    this.#sendPorts[i] = toPort;
    const sourceFamilies = this.#sendSourceFamilies;
    if (sourceFamilies !== undefined) {
      const fromLength = from === undefined ? 0 : from.length;
      if (fromLength === 4 || fromLength === 16) {
        this.#sendSources!.set(from!, 16 * i);
        sourceFamilies[i] = fromLength === 4 ? 4 : 6;
      } else {
        sourceFamilies[i] = 0;
      }
    }
    this.#sendUsed = offset + length;
    this.#pending = i + 1;
    if (this.#inBatch) return;
    if (inBatchDispatch()) flushAfterBatch(this);
    else if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(this.#flushTask);
    }
  }

  /** Send everything queued, in one sendmmsg where possible. */
  flush(): void {
    const count = this.#pending;
    if (count === 0) return;
    this.#pending = 0;
    this.#sendUsed = 0;
    this.#socket.flush(count);
  }

  /** Flush what is queued, stop receiving and release the port. Idempotent. */
  close(): Promise<void> {
    if (this.#closing === undefined) {
      this.flush();
      this.#closing = this.#socket.close();
    }
    return this.#closing;
  }

  /** Datagrams that could not be sent. */
  get sendErrors(): number {
    return this.#stats[NativeUdpStat.sendErrors]!;
  }
  /** Datagrams the kernel accepted for sending. */
  get sent(): number {
    return this.#stats[NativeUdpStat.sent]!;
  }
  /** sendmmsg system calls made. */
  get sendCalls(): number {
    return this.#stats[NativeUdpStat.sendCalls]!;
  }
  /** Receive batches dispatched (one recvmmsg that returned datagrams, one JS callback). */
  get batches(): number {
    return this.#stats[NativeUdpStat.batches]!;
  }
  /** Datagrams dispatched to the handler. */
  get datagrams(): number {
    return this.#stats[NativeUdpStat.datagrams]!;
  }
  /** Datagrams dropped for being larger than `maxDatagramSize`. */
  get truncated(): number {
    return this.#stats[NativeUdpStat.truncated]!;
  }
  /** Receive failures other than "nothing to read". */
  get receiveErrors(): number {
    return this.#stats[NativeUdpStat.receiveErrors]!;
  }
  /** errno name of the most recent send failure, e.g. 'EACCES'. */
  get lastSendError(): string | undefined {
    const errno = this.#stats[NativeUdpStat.lastSendErrno]!;
    return errno === 0 ? undefined : this.#errnoName(errno);
  }
  /** errno name of the most recent receive failure. */
  get lastReceiveError(): string | undefined {
    const errno = this.#stats[NativeUdpStat.lastReceiveErrno]!;
    return errno === 0 ? undefined : this.#errnoName(errno);
  }

  #reject(errno: number): void {
    this.#stats[NativeUdpStat.sendErrors]! += 1;
    this.#stats[NativeUdpStat.lastSendErrno] = errno;
  }

  readonly #flushTask = (): void => {
    this.#flushQueued = false;
    this.flush();
  };

  readonly #onBatch = (count: number): void => {
    const handler = this.#handler;
    if (handler === undefined) return;
    const lengths = this.#recvLengths;
    const families = this.#recvFamilies;
    const ports = this.#recvPorts;
    const toFamilies = this.#toFamilies;
    let failed = false;
    let failure: unknown;
    this.#inBatch = true;
    enterBatchDispatch();
    resetCoarseClock();
    for (let i = 0; i < count; i++) {
      const length = lengths[i]!;
      if (length < 0) continue;
      // A handler closed the endpoint: like a closed dgram socket, deliver nothing more.
      if (this.#closing !== undefined) break;
      try {
        const toFamily = toFamilies === undefined ? 0 : toFamilies[i]!;
        const to = toFamily === 4 ? this.#toV4[i]! : toFamily === 6 ? this.#toV6[i]! : undefined;
        handler(this.#slotData[i]!, length, families[i] === 4 ? this.#fromV4[i]! : this.#fromV6[i]!, ports[i]!, to);
      } catch (e) {
        if (!failed) {
          failed = true;
          failure = e;
        }
      }
    }
    this.#inBatch = false;
    this.flush();
    leaveBatchDispatch();
    if (failed) throw failure;
  };
}

/**
 * A `UdpEndpoint` on the native recvmmsg/sendmmsg addon, bound at once.
 * Throws `NativeUdpUnavailableError` when the addon is not built (fall
 * back to the dgram endpoint), `NativeUdpBindError` when the socket cannot
 * be created or bound, `NativeUdpOptionError` for out-of-range options and
 * `AddressParseError` for an unparsable address.
 */
export function createNativeUdpEndpoint(options: UdpEndpointOptions, tuning?: NativeUdpEndpointTuning): NativeUdpEndpoint {
  return new NativeUdpEndpoint(options, tuning);
}
