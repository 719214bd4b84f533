/**
 * DNS over TCP's framing (a 2-byte length, then the message) for writes the
 * addon's TCP streams take: the addon sends or copies the bytes before it
 * returns, so one scratch frame serves every message of the thread.
 */

/** Room for the largest message (65,535 bytes) and its length. */
const SCRATCH = Buffer.allocUnsafe(65537);

/** `length` bytes of `data` framed in the scratch buffer (valid until the next call); `id`, when given, replaces the message's ID. */
export function frameInScratch(data: Buffer, length: number, id?: number): Buffer {
  SCRATCH.writeUInt16BE(length, 0);
  data.copy(SCRATCH, 2, 0, length);
  if (id !== undefined) SCRATCH.writeUInt16BE(id, 2);
  return SCRATCH;
}
