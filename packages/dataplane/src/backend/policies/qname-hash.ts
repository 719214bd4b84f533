/**
 * 32-bit FNV-1a over the query name as the query view holds it (lower-cased
 * text), mixed with a perturbation (dnsdist's setWHashedPertubation), so
 * whashed/chashed spread names the same way across restarts.
 *
 * FNV-1a alone is not enough for them: its low bits depend only on the
 * characters' low bits (its last bit is the parity of the odd character
 * codes, so with two servers whashed could only swap them under a
 * perturbation), and names differing only in their last characters (chashed's
 * ring points, `id-0`, `id-1`…) land close together. murmur3's finalizer
 * carries every bit to every bit.
 */
export function qnameHash(qname: string, perturbation: number): number {
  let h = (0x811c9dc5 ^ perturbation) >>> 0;
  for (let i = 0; i < qname.length; i++) {
    h ^= qname.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
