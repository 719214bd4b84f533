import { randomBytes, randomFillSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CellSet } from '../stats/counter-cells.js';
import { TlsConfigError } from './tls-config-error.js';

/**
 * One record of a dnsdist (OpenSSL provider) ticket key file: a 16-byte key
 * name, a 32-byte cipher key and a 32-byte HMAC key.
 */
export const TICKET_KEY_FILE_RECORD_SIZE = 80;

/** A session ticket key as OpenSSL's ticket callback in Node uses it (AES-128-CBC, HMAC-SHA256). */
interface TicketKey {
  readonly name: Buffer;
  readonly aes: Buffer;
  readonly hmac: Buffer;
}

/** What Node's ticket callback gives back: [result, hmacKey, aesKey, keyName?, iv?]. */
type TicketKeyAnswer = [number, Buffer, Buffer] | [number, Buffer, Buffer, Buffer, Buffer];

const UNUSED_HMAC = Buffer.alloc(32);
const UNUSED_AES = Buffer.alloc(16);

/** IVs handed out per ticket, cut from one random block refilled when used up. */
const IV_SIZE = 16;
const IV_POOL_SIZE = IV_SIZE * 256;

/**
 * Fresh random IVs for new tickets. OpenSSL issues two tickets per TLS 1.3
 * handshake, each asking for an IV: one random fill per 256 of them instead
 * of a call into OpenSSL's generator and a new Buffer for each. Node copies
 * the IV out of the callback's answer before the next one is asked for, so a
 * view into the block is enough.
 */
class IvPool {
  readonly #block = Buffer.allocUnsafe(IV_POOL_SIZE);
  readonly #views = Array.from({ length: IV_POOL_SIZE / IV_SIZE }, (_, i) => this.#block.subarray(i * IV_SIZE, (i + 1) * IV_SIZE));
  #next = this.#views.length;

  take(): Buffer {
    if (this.#next === this.#views.length) {
      randomFillSync(this.#block);
      this.#next = 0;
    }
    return this.#views[this.#next++]!;
  }
}

/** A ring's counters, in cells (shared live with data-plane workers: stats/counter-cells.ts). */
const TICKET_CELLS = new CellSet({ unknownTicketKeys: 'counter', inactiveTicketKeys: 'counter' });

/**
 * The session ticket keys of one TLS context, newest (active) first. New
 * tickets are encrypted with the active key; a ticket made with an older key
 * that is still held resumes and is replaced by one under the active key;
 * a ticket whose key is gone means a full handshake. Rotating or loading
 * keys pushes older ones out past `capacity` (numberOfTicketsKeys).
 */
export class TicketKeyRing {
  readonly #keys: TicketKey[] = [];
  readonly #ivs = new IvPool();
  /** Tickets presented with a key this ring does not hold (dnsdist's tlsUnknownTicketKey). */
  declare unknownTicketKeys: number;
  /** Tickets resumed with a key that is held but no longer the active one (tlsInactiveTicketKey). */
  declare inactiveTicketKeys: number;

  /** Told after rotate() and loadFile(): with data-plane workers, the control plane sends its keys to them (workers/worker-keys.ts). */
  onChange: (() => void) | undefined;

  constructor(readonly capacity: number) {
    TICKET_CELLS.install(this);
  }

  /** The keys, newest (active) first, each as 64 bytes: name, AES key, HMAC key. */
  export(): Buffer[] {
    return this.#keys.map((k) => Buffer.concat([k.name, k.aes, k.hmac]));
  }

  /** Hold exactly these keys (export()'s form), newest first: a data-plane worker takes the control plane's. */
  replace(keys: readonly Uint8Array[]): void {
    this.#keys.length = 0;
    for (const k of keys.slice(0, this.capacity)) {
      const b = Buffer.from(k);
      this.#keys.push({ name: b.subarray(0, 16), aes: b.subarray(16, 32), hmac: b.subarray(32, 64) });
    }
  }

  get size(): number {
    return this.#keys.length;
  }

  /** A fresh random key becomes the active one. */
  rotate(): void {
    this.#push({ name: randomBytes(16), aes: randomBytes(16), hmac: randomBytes(32) });
    this.onChange?.();
  }

  /**
   * The rotation that comes due every ticketsKeysRotationDelay, the same for
   * DoT and DoH listeners: with a ticketKeyFile the file is read again (an
   * external tool may have written new keys to it), else a fresh random key
   * becomes active. A file that cannot be used changes nothing and throws.
   */
  rotateOrReload(ticketKeyFile: string | undefined): void {
    if (ticketKeyFile === undefined || ticketKeyFile === '') this.rotate();
    else this.loadFile(ticketKeyFile);
  }

  /**
   * Add the keys of a dnsdist ticket key file (80-byte records), each in
   * turn becoming the active one, so the file's last key ends up active.
   * Nothing changes when the file cannot be used.
   */
  loadFile(path: string): void {
    let data: Buffer;
    try {
      data = readFileSync(path);
    } catch (err) {
      throw new TlsConfigError(`unable to read the tickets key file '${path}': ${(err as Error).message}`, path);
    }
    if (data.length === 0 || data.length % TICKET_KEY_FILE_RECORD_SIZE !== 0) {
      throw new TlsConfigError(
        `the tickets key file '${path}' holds ${data.length} bytes, not a whole number of ${TICKET_KEY_FILE_RECORD_SIZE}-byte keys (16-byte name, 32-byte cipher key, 32-byte HMAC key); generate it with e.g. 'head -c 400 /dev/urandom'`,
        path,
      );
    }
    for (let off = 0; off < data.length; off += TICKET_KEY_FILE_RECORD_SIZE) {
      const rec = data.subarray(off, off + TICKET_KEY_FILE_RECORD_SIZE);
      // Node's ticket callback encrypts with AES-128-CBC: the first half of the 32-byte cipher key.
      this.#push({
        name: Buffer.from(rec.subarray(0, 16)),
        aes: Buffer.from(rec.subarray(16, 32)),
        hmac: Buffer.from(rec.subarray(48, 80)),
      });
    }
    this.onChange?.();
  }

  #push(key: TicketKey): void {
    if (this.capacity <= 0) return;
    this.#keys.unshift(key);
    if (this.#keys.length > this.capacity) this.#keys.length = this.capacity;
  }

  /**
   * Node's ticket key callback (OpenSSL's SSL_CTX_set_tlsext_ticket_key_cb):
   * on encrypt, the active key and a fresh IV; on decrypt, 1 for the active
   * key, 2 for an older one (resume, then issue a new ticket), 0 when the
   * key is unknown (full handshake).
   */
  callback(name: Buffer, _iv: Buffer, encrypt: boolean): TicketKeyAnswer {
    if (encrypt) {
      const k = this.#keys[0];
      if (k === undefined) return [-1, UNUSED_HMAC, UNUSED_AES];
      return [1, k.hmac, k.aes, k.name, this.#ivs.take()];
    }
    for (let i = 0; i < this.#keys.length; i++) {
      const k = this.#keys[i]!;
      if (!k.name.equals(name)) continue;
      if (i === 0) return [1, k.hmac, k.aes];
      this.inactiveTicketKeys++;
      return [2, k.hmac, k.aes];
    }
    this.unknownTicketKeys++;
    // Node reads both keys whatever the result: unused ones keep it from failing.
    return [0, UNUSED_HMAC, UNUSED_AES];
  }
}
