import fc from 'fast-check';
import {
  ConsoleCipher,
  ConsoleDecryptError,
  CONSOLE_MAC_BYTES,
  incrementConsoleNonce,
  mergeConsoleNonces,
  newConsoleNonce,
} from '@dnsdist-ts/console/console/index.js';

const key = Buffer.alloc(32, 7);

async function pair(): Promise<{ client: ConsoleCipher; server: ConsoleCipher }> {
  const c = newConsoleNonce();
  const s = newConsoleNonce();
  return { client: await ConsoleCipher.create('client', key, c, s), server: await ConsoleCipher.create('server', key, c, s) };
}

describe('console nonces', () => {
  it('adds one to the first four bytes as a big-endian number and leaves the rest alone', () => {
    const n = Uint8Array.from({ length: 24 }, (_, i) => i);
    incrementConsoleNonce(n);
    expect([...n.subarray(0, 4)]).toEqual([0, 1, 2, 4]);
    expect([...n.subarray(4)]).toEqual(Array.from({ length: 20 }, (_, i) => i + 4));

    const carry = Uint8Array.from([0x00, 0x00, 0x01, 0xff, 9, 9]);
    incrementConsoleNonce(carry);
    expect([...carry]).toEqual([0x00, 0x00, 0x02, 0x00, 9, 9]);
  });

  it('wraps at 2^32 without touching byte 4', () => {
    const n = Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x55, 0x66]);
    incrementConsoleNonce(n);
    expect([...n]).toEqual([0, 0, 0, 0, 0x55, 0x66]);
  });

  it('matches u32 arithmetic for any counter', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (v) => {
        const n = Buffer.alloc(24, 0xaa);
        n.writeUInt32BE(v, 0);
        incrementConsoleNonce(n);
        expect(n.readUInt32BE(0)).toBe((v + 1) % 2 ** 32);
        expect(n.subarray(4).every((b) => b === 0xaa)).toBe(true);
      }),
    );
  });

  it('takes the first half of one nonce and the second half of the other', () => {
    const low = Buffer.alloc(24, 1);
    const high = Buffer.alloc(24, 2);
    expect([...mergeConsoleNonces(low, high)]).toEqual([...Array(12).fill(1), ...Array(12).fill(2)]);
  });
});

describe('ConsoleCipher', () => {
  it('seals to 16 bytes more than the text, even for empty text, and the other end opens it', async () => {
    const { client, server } = await pair();
    const sealed = client.seal('showVersion()');
    expect(sealed.length).toBe(13 + CONSOLE_MAC_BYTES);
    expect(server.open(sealed)).toBe('showVersion()');
    const empty = server.seal('');
    expect(empty.length).toBe(CONSOLE_MAC_BYTES);
    expect(client.open(empty)).toBe('');
  });

  it('keeps the two directions apart and moves each nonce on per message', async () => {
    const { client, server } = await pair();
    const a = client.seal('same');
    const b = client.seal('same');
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    // A message sealed by the server cannot be taken for one from the client.
    const fromServer = server.seal('same');
    expect(() => server.open(fromServer)).toThrow(ConsoleDecryptError);
  });

  it('refuses messages opened out of order', async () => {
    const { client, server } = await pair();
    client.seal('first');
    const second = client.seal('second');
    expect(() => server.open(second)).toThrow(ConsoleDecryptError);
  });

  it('refuses a message sealed with another key, and carries the bytes', async () => {
    const c = newConsoleNonce();
    const s = newConsoleNonce();
    const client = await ConsoleCipher.create('client', Buffer.alloc(32, 1), c, s);
    const server = await ConsoleCipher.create('server', Buffer.alloc(32, 2), c, s);
    const sealed = client.seal('hello');
    let caught: unknown;
    try {
      server.open(sealed);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ConsoleDecryptError);
    expect((caught as ConsoleDecryptError).input).toBe(sealed);
    expect((caught as Error).message).toContain('setKey');
  });

  it('refuses frames too short to hold a MAC', async () => {
    const { server } = await pair();
    expect(() => server.open(new Uint8Array(5))).toThrow(ConsoleDecryptError);
  });

  it('carries any text both ways, in sequence', async () => {
    const { client, server } = await pair();
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (question, answer) => {
        expect(server.open(client.seal(question))).toBe(question);
        expect(client.open(server.seal(answer))).toBe(answer);
      }),
    );
  });

  it('rejects keys and nonces of the wrong size', async () => {
    await expect(ConsoleCipher.create('client', Buffer.alloc(31), newConsoleNonce(), newConsoleNonce())).rejects.toThrow(RangeError);
    await expect(ConsoleCipher.create('client', key, Buffer.alloc(23), newConsoleNonce())).rejects.toThrow(RangeError);
  });
});
