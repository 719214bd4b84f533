/**
 * A Lua string that is not valid UTF-8 (raw DNS bytes such as
 * "\192\000\002\001"). Lua strings are byte strings; JS strings are not, so
 * such a string crosses into JS as this object rather than as a string whose
 * bytes were replaced by U+FFFD. Strings that are valid UTF-8 stay JS strings.
 */
export class LuaBytes {
  readonly bytes: Uint8Array;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }

  /** The text with every invalid sequence replaced by U+FFFD (what a string argument sees). */
  toString(): string {
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength).toString('utf8');
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The bytes of a Lua string as a JS value: a string when they are valid UTF-8, else LuaBytes. */
export function luaStringValue(bytes: Uint8Array): string | LuaBytes {
  let ascii = true;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i]! >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return new LuaBytes(Uint8Array.from(bytes));
  }
}

/** The bytes a JS value stands for as a Lua string argument: UTF-8 for strings, as-is for LuaBytes. */
export function bytesOfLuaString(v: unknown): Uint8Array | undefined {
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (v instanceof LuaBytes) return v.bytes;
  return undefined;
}
