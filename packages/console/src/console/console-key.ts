/**
 * The console's shared secret: 32 raw bytes (libsodium's secretbox key
 * size), written in configurations as standard base64 (44 characters).
 */
import { randomBytes } from 'node:crypto';
import { ConsoleKeyError } from './console-errors.js';

/** Size of a console key once decoded (crypto_secretbox_KEYBYTES). */
export const CONSOLE_KEY_BYTES = 32;

/** Standard alphabet, padded to a multiple of 4: what makeKey() prints and dnsdist's decoder reads. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Decode and check a base64 console key.
 *
 * @param text - the key as given to setKey() or `-k`.
 * @param context - who asks, for the error message ("setKey", "-k").
 * @returns the 32 raw key bytes.
 * @throws ConsoleKeyError when the text is not base64 or does not decode to 32 bytes.
 */
export function parseConsoleKey(text: string, context = 'setKey'): Buffer {
  // Buffer.from(…, 'base64') silently skips bad characters: check the text first.
  if (!BASE64.test(text)) {
    throw new ConsoleKeyError(
      `${context}: "${text}" is not valid base64; use the 44-character text that makeKey() prints (alphabet A-Z a-z 0-9 + /, "=" padding)`,
      text,
    );
  }
  const key = Buffer.from(text, 'base64');
  if (key.length !== CONSOLE_KEY_BYTES) {
    throw new ConsoleKeyError(
      `${context}: the key must be ${CONSOLE_KEY_BYTES} bytes once base64-decoded, got ${key.length}; generate one with makeKey()`,
      text,
    );
  }
  return key;
}

/** Whether `text` is a usable console key (base64 of exactly 32 bytes). */
export function isValidConsoleKey(text: string): boolean {
  return BASE64.test(text) && Buffer.from(text, 'base64').length === CONSOLE_KEY_BYTES;
}

/**
 * A fresh random console key in base64. dnsdist's makeKey() prints it as
 * `setKey("…")`; formatting that line is the Lua binding's job.
 */
export function makeKey(): string {
  return randomBytes(CONSOLE_KEY_BYTES).toString('base64');
}
