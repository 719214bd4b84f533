import { call } from './errors.js';
import { native } from './native.js';
import { pinObject } from './bpffs.js';

/** XDP verdicts (enum xdp_action). */
export const XdpAction = { Aborted: 0, Drop: 1, Pass: 2, Tx: 3, Redirect: 4 } as const;

export interface TestRunResult {
  /** The program's return value (the XDP verdict for XDP programs). */
  retval: number;
  /** The packet as the program left it (after adjust_tail / rewrites). */
  data: Buffer;
  /** Average run time per repetition in nanoseconds, as the kernel measured it. */
  durationNs: number;
}

/**
 * A loaded program. Its fd belongs to the BpfObject it came from (valid
 * until the object is closed) unless obtained by id, in which case close().
 */
export class BpfProgram {
  constructor(
    readonly name: string,
    readonly type: number,
    readonly fd: number,
    private readonly ownsFd = false,
  ) {}

  /** Open a loaded program by its kernel id (e.g. the one attached to an interface); close() it after. */
  static fromId(id: number): BpfProgram {
    const fd = call('program by id', String(id), () => native().progFdById(id));
    const info = call('program info', String(id), () => native().progInfo(fd));
    return new BpfProgram(info.name, info.type, fd, true);
  }

  /** Kernel id and name of the program. */
  info(): { id: number; type: number; name: string } {
    return call('program info', this.name, () => native().progInfo(this.fd));
  }

  /**
   * Run the program once per repetition on `packet` with BPF_PROG_TEST_RUN.
   * For XDP, pass a whole Ethernet frame.
   */
  testRun(packet: Uint8Array, repeat = 1): TestRunResult {
    const r = call('program test run', this.name, () => native().progTestRun(this.fd, packet, repeat, packet.byteLength + 512));
    return { retval: r.retval, data: r.data, durationNs: r.duration };
  }

  /** Pin the program to a bpffs path (parents created below the mount, removed again if the pin fails). */
  pin(path: string): void {
    pinObject(this.fd, path);
  }

  close(): void {
    if (this.ownsFd) native().close(this.fd);
  }
}
