import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BpfObject, attachSocketFilter, detachSocketFilter, type BpfMap, type BpfProgram, type SocketLike } from '@dnsdist-ts/bpf';
import { BPFFilterError } from './bpf-filter-error.js';

/** The compiled program sits in bpf/, beside both src/ and dist/. */
const OBJECT_PATH = fileURLToPath(new URL('../bpf/socket-filter.bpf.o', import.meta.url));

/**
 * The socket filter used when newBPFFilter is not external: it reads the
 * filter's legacy-format maps and drops blocked sources (UDP and TCP) and
 * UDP queries for blocked names, counting hits in the map values.
 */
export class InternalSocketFilter {
  readonly #object: BpfObject;
  readonly program: BpfProgram;

  constructor(maps: { v4: BpfMap; v6: BpfMap; qnames: BpfMap }) {
    if (!existsSync(OBJECT_PATH)) {
      throw new BPFFilterError(`the internal socket filter is not built (${OBJECT_PATH} is missing): run 'make bpf'`, OBJECT_PATH);
    }
    const obj = BpfObject.open(OBJECT_PATH);
    try {
      obj.reuseMap('v4', maps.v4).reuseMap('v6', maps.v6).reuseMap('qnames', maps.qnames).load();
      this.program = obj.program('dnsdist_ts_socket_filter');
    } catch (err) {
      obj.close();
      throw err;
    }
    this.#object = obj;
  }

  attach(sock: SocketLike): void {
    attachSocketFilter(sock, this.program);
  }

  detach(sock: SocketLike): void {
    detachSocketFilter(sock);
  }

  close(): void {
    this.#object.close();
  }
}
