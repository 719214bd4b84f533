import fc from 'fast-check';
import { capConsoleReply, ConsoleReplyBuilder, consoleReplyCutNote } from '@dnsdist-ts/console/console/index.js';

const bytes = (s: string): number => Buffer.byteLength(s);

describe('ConsoleReplyBuilder (pure logic)', () => {
  it('keeps a reply that fits as it is', () => {
    const b = new ConsoleReplyBuilder(1000);
    b.append('one\n');
    b.appendBytes(Buffer.from('twö\n'));
    expect(b.finish()).toBe('one\ntwö\n');
    expect(b.cut).toBe(false);
  });

  it('cuts a long reply within the limit, on a character boundary, and says how much was left out', () => {
    const b = new ConsoleReplyBuilder(1000);
    b.append('start\n');
    b.appendBytes(Buffer.from('é'.repeat(1000)));
    b.append('never kept\n');
    const reply = b.finish();
    expect(bytes(reply)).toBeLessThanOrEqual(1000);
    expect(reply.startsWith('start\néé')).toBe(true);
    expect(reply).not.toContain('\uFFFD');
    expect(reply).not.toContain('never kept');
    expect(reply.endsWith(consoleReplyCutNote(1000, b.droppedBytes))).toBe(true);
    // Everything is accounted for: kept text plus dropped bytes is what was appended.
    const kept = bytes(reply) - bytes(consoleReplyCutNote(1000, b.droppedBytes)) - 1; // the "\n" before the note
    expect(kept + b.droppedBytes).toBe(6 + 2000 + 11);
  });

  it('decodes only what fits of a huge byte string', () => {
    const b = new ConsoleReplyBuilder(10_000);
    b.appendBytes(new Uint8Array(50_000_000).fill(0x78));
    const reply = b.finish();
    expect(bytes(reply)).toBeLessThanOrEqual(10_000);
    expect(b.droppedBytes).toBeGreaterThan(49_990_000);
  });

  it('cuts without a note when the limit is too small to hold one', () => {
    const b = new ConsoleReplyBuilder(50);
    b.append('x'.repeat(80));
    expect(b.finish()).toBe('x'.repeat(50));
  });

  it('has no limit at 0', () => {
    expect(capConsoleReply('x'.repeat(100_000), 0)).toHaveLength(100_000);
  });

  it('never exceeds the limit, whatever is appended (UTF-8, invalid bytes, pieces)', () => {
    const piece = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 300 }).map((s) => ({ text: s })),
      fc.uint8Array({ maxLength: 300 }).map((b) => ({ raw: b })),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2000 }), fc.array(piece, { maxLength: 20 }), (max, pieces) => {
        const b = new ConsoleReplyBuilder(max);
        for (const p of pieces) {
          if ('text' in p) b.append(p.text);
          else b.appendBytes(p.raw);
        }
        expect(bytes(b.finish())).toBeLessThanOrEqual(max);
      }),
    );
  });
});
