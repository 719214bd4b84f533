/**
 * The console's encryption: libsodium secretbox (XSalsa20-Poly1305) with
 * the shared 32-byte key and one 24-byte nonce per direction.
 *
 * Both nonces come from the handshake: the client sends its random nonce
 * C, the server answers with its own S, and each direction takes half of
 * each: client→server uses S[0..12) ‖ C[12..24), server→client uses
 * C[0..12) ‖ S[12..24). After every message sealed or opened, the nonce of
 * that direction moves on by adding one to its first four bytes read as a
 * big-endian u32 (wrapping); the other 20 bytes never change.
 */
import { randomFillSync } from 'node:crypto';
import type Sodium from 'libsodium-wrappers';
import { CONSOLE_KEY_BYTES } from './console-key.js';
import { ConsoleDecryptError } from './console-errors.js';

/** Size of each handshake nonce and of each direction's nonce (crypto_secretbox_NONCEBYTES). */
export const CONSOLE_NONCE_BYTES = 24;
/** Authenticator prepended to every sealed message (crypto_secretbox_MACBYTES). */
export const CONSOLE_MAC_BYTES = 16;

const HALF = CONSOLE_NONCE_BYTES / 2;

let sodiumReady: Promise<void> | undefined;
/** Set once loadConsoleCrypto() resolves; every cipher is made after that (ConsoleCipher.create awaits it). */
let sodium: typeof Sodium;

/**
 * Load and initialise libsodium (done once per process; later calls resolve
 * at once). It is imported here rather than at the top: a proxy without a
 * console, or one nobody connects to yet, starts without it.
 */
export function loadConsoleCrypto(): Promise<void> {
  sodiumReady ??= import('libsodium-wrappers').then(async (m) => {
    await m.default.ready;
    sodium = m.default;
  });
  return sodiumReady;
}

/** A fresh random handshake nonce. */
export function newConsoleNonce(): Buffer {
  return randomFillSync(Buffer.alloc(CONSOLE_NONCE_BYTES));
}

/** `low[0..12) ‖ high[12..24)`: how each direction's nonce is made from the two handshake nonces. */
export function mergeConsoleNonces(low: Uint8Array, high: Uint8Array): Uint8Array {
  const out = new Uint8Array(CONSOLE_NONCE_BYTES);
  out.set(low.subarray(0, HALF), 0);
  out.set(high.subarray(HALF, CONSOLE_NONCE_BYTES), HALF);
  return out;
}

/** Add one to the first four bytes read as a big-endian u32, wrapping at 2^32. */
export function incrementConsoleNonce(nonce: Uint8Array): void {
  // Byte-wise carry: same result as a u32 add, without a DataView per message.
  for (let i = 3; i >= 0; i--) {
    nonce[i] = (nonce[i]! + 1) & 0xff;
    if (nonce[i] !== 0) return;
  }
}

/** Which end of the connection a cipher serves: it decides which nonce seals and which opens. */
export type ConsoleRole = 'client' | 'server';

/**
 * One connection's sealing and opening state. Messages must be sealed and
 * opened in stream order: each call moves its direction's nonce on.
 */
export class ConsoleCipher {
  readonly #key: Uint8Array;
  readonly #sealNonce: Uint8Array;
  readonly #openNonce: Uint8Array;

  private constructor(key: Uint8Array, sealNonce: Uint8Array, openNonce: Uint8Array) {
    this.#key = key;
    this.#sealNonce = sealNonce;
    this.#openNonce = openNonce;
  }

  /**
   * Set up the cipher of one end after the nonce exchange.
   *
   * @param role - whose side this is.
   * @param key - the 32 raw key bytes (see parseConsoleKey); copied.
   * @param clientNonce - the 24 bytes the client sent first.
   * @param serverNonce - the 24 bytes the server answered with.
   */
  static async create(role: ConsoleRole, key: Uint8Array, clientNonce: Uint8Array, serverNonce: Uint8Array): Promise<ConsoleCipher> {
    if (key.length !== CONSOLE_KEY_BYTES) {
      throw new RangeError(`a console key has ${CONSOLE_KEY_BYTES} bytes, got ${key.length}; decode it with parseConsoleKey()`);
    }
    if (clientNonce.length !== CONSOLE_NONCE_BYTES || serverNonce.length !== CONSOLE_NONCE_BYTES) {
      throw new RangeError(
        `console handshake nonces have ${CONSOLE_NONCE_BYTES} bytes, got ${clientNonce.length} and ${serverNonce.length}`,
      );
    }
    await loadConsoleCrypto();
    const toServer = mergeConsoleNonces(serverNonce, clientNonce);
    const toClient = mergeConsoleNonces(clientNonce, serverNonce);
    const ownKey = Uint8Array.from(key);
    return role === 'client' ? new ConsoleCipher(ownKey, toServer, toClient) : new ConsoleCipher(ownKey, toClient, toServer);
  }

  /** Seal UTF-8 text; the result is MAC + ciphertext (16 bytes longer than the text). */
  seal(text: string): Uint8Array {
    const sealed = sodium.crypto_secretbox_easy(Buffer.from(text, 'utf8'), this.#sealNonce, this.#key);
    incrementConsoleNonce(this.#sealNonce);
    return sealed;
  }

  /**
   * Open a sealed message and decode it as UTF-8 (invalid sequences become U+FFFD).
   *
   * @throws ConsoleDecryptError when the MAC does not verify (wrong key, or out of step).
   */
  open(sealed: Uint8Array): string {
    let plain: Uint8Array;
    try {
      plain = sodium.crypto_secretbox_open_easy(sealed, this.#openNonce, this.#key);
    } catch {
      throw new ConsoleDecryptError(sealed);
    } finally {
      // dnsdist moves the nonce on even when opening fails; the connection is dead either way.
      incrementConsoleNonce(this.#openNonce);
    }
    return Buffer.from(plain.buffer, plain.byteOffset, plain.byteLength).toString('utf8');
  }
}
