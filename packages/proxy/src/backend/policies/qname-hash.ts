/**
 * 32-bit FNV-1a over the query name as the query view holds it (lower-cased
 * text), mixed with a perturbation (dnsdist's setWHashedPertubation), so
 * whashed/chashed spread names the same way across restarts.
 */
export function qnameHash(qname: string, perturbation: number): number {
  let h = (0x811c9dc5 ^ perturbation) >>> 0;
  for (let i = 0; i < qname.length; i++) {
    h ^= qname.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
