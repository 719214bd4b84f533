import { CONSOLE_KEY_BYTES, ConsoleKeyError, isValidConsoleKey, makeKey, parseConsoleKey } from '@dnsdist-ts/console/console/index.js';

describe('console keys', () => {
  it('decodes what makeKey() produces into 32 bytes', () => {
    const text = makeKey();
    expect(text).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    const key = parseConsoleKey(text);
    expect(key.length).toBe(CONSOLE_KEY_BYTES);
    expect(key.toString('base64')).toBe(text);
    expect(isValidConsoleKey(text)).toBe(true);
  });

  it('makes a different key each time', () => {
    const keys = new Set(Array.from({ length: 20 }, () => makeKey()));
    expect(keys.size).toBe(20);
  });

  it('rejects a key of the wrong size, saying how long it was', () => {
    const short = Buffer.from('abc').toString('base64');
    expect(() => parseConsoleKey(short)).toThrow(ConsoleKeyError);
    expect(() => parseConsoleKey(short)).toThrow('setKey: the key must be 32 bytes once base64-decoded, got 3');
    expect(() => parseConsoleKey(Buffer.alloc(33).toString('base64'), '-k')).toThrow(
      '-k: the key must be 32 bytes once base64-decoded, got 33',
    );
    expect(() => parseConsoleKey('')).toThrow('got 0');
    expect(isValidConsoleKey(short)).toBe(false);
  });

  it('rejects text that is not base64 instead of decoding what it can', () => {
    const good = makeKey();
    for (const bad of [`${good.slice(0, 20)}!${good.slice(21)}`, `${good} `, good.slice(0, 43), `${good}=`, 'not base64 at all']) {
      let caught: unknown;
      try {
        parseConsoleKey(bad);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(ConsoleKeyError);
      expect((caught as ConsoleKeyError).input).toBe(bad);
      expect((caught as ConsoleKeyError).message).toContain('is not valid base64');
      expect(isValidConsoleKey(bad)).toBe(false);
    }
  });
});
