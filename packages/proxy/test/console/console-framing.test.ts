import fc from 'fast-check';
import {
  ConsoleFrameReader,
  ConsoleFrameTooLargeError,
  encodeConsoleFrame,
  CONSOLE_PING_FRAME,
} from '@dnsdist-ts/console/console/index.js';

describe('console framing', () => {
  it('prefixes the payload with its big-endian length', () => {
    expect([...encodeConsoleFrame(Buffer.from('abc'))]).toEqual([0, 0, 0, 3, 0x61, 0x62, 0x63]);
    expect([...CONSOLE_PING_FRAME]).toEqual([0, 0, 0, 0]);
  });

  it('gives back the nonce and the frames however TCP splits the stream', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 24, maxLength: 24 }),
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 40 }),
        (nonce, payloads, cuts) => {
          const stream = Buffer.concat([nonce, ...payloads.map((p) => encodeConsoleFrame(p))]);
          const reader = new ConsoleFrameReader(() => 1000);
          const got: Buffer[] = [];
          let gotNonce: Buffer | undefined;
          let at = 0;
          let i = 0;
          while (at < stream.length) {
            const size = cuts[i++ % cuts.length]!;
            reader.push(stream.subarray(at, at + size));
            at += size;
            gotNonce ??= reader.takeBytes(24);
            if (gotNonce) for (let f = reader.nextFrame(); f; f = reader.nextFrame()) got.push(f);
          }
          expect(gotNonce && [...gotNonce]).toEqual([...nonce]);
          expect(got.map((f) => [...f])).toEqual(payloads.map((p) => [...p]));
          expect(reader.buffered).toBe(0);
        },
      ),
    );
  });

  it('waits for a whole frame', () => {
    const reader = new ConsoleFrameReader(() => 100);
    reader.push(Buffer.from([0, 0]));
    expect(reader.nextFrame()).toBeUndefined();
    reader.push(Buffer.from([0, 2, 9]));
    expect(reader.nextFrame()).toBeUndefined();
    reader.push(Buffer.from([8]));
    expect([...reader.nextFrame()!]).toEqual([9, 8]);
  });

  it('rejects a header over the limit before the body arrives, using the current limit', () => {
    let limit = 100;
    const reader = new ConsoleFrameReader(() => limit);
    reader.push(Buffer.from([0, 0, 0, 101]));
    let caught: unknown;
    try {
      reader.nextFrame();
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ConsoleFrameTooLargeError);
    expect(caught).toMatchObject({ length: 101, limit: 100 });
    limit = 101;
    expect(reader.nextFrame()).toBeUndefined();
    limit = 0;
    expect(reader.nextFrame()).toBeUndefined();
  });

  it('accepts a frame of exactly the limit', () => {
    const reader = new ConsoleFrameReader(() => 3);
    reader.push(encodeConsoleFrame(Buffer.from('xyz')));
    expect(reader.nextFrame()?.toString()).toBe('xyz');
  });
});
