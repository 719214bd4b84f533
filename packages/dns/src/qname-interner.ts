/**
 * Query names repeat: most traffic asks for a few thousand names over and
 * over. Making a new string for each query costs an allocation, and the
 * query ring keeps every one alive long enough to be copied by the garbage
 * collector. This table hands back the string already made for the same
 * lower-cased wire name: a direct-mapped cache of 4096 names, keyed by a
 * hash the parser computes while it copies the name.
 */
const SLOTS = 4096;

const wires: (Uint8Array | undefined)[] = new Array(SLOTS);
const texts: string[] = new Array(SLOTS);

/** FNV-1a step: fold one byte into the running hash. */
export function qnameHashStep(h: number, byte: number): number {
  return Math.imul(h ^ byte, 0x01000193);
}

export const QNAME_HASH_SEED = 0x811c9dc5 | 0;

/**
 * The interned text for `wire[0..wireLength)` whose hash is `hash`, or
 * undefined when this name is not the one cached in its slot.
 */
export function internedQname(hash: number, wire: Uint8Array, wireLength: number): string | undefined {
  const slot = hash & (SLOTS - 1);
  const cached = wires[slot];
  if (cached === undefined || cached.length !== wireLength) return undefined;
  for (let i = 0; i < wireLength; i++) if (cached[i] !== wire[i]) return undefined;
  return texts[slot];
}

/** Remember `text` as the string for this wire name (replacing whatever shared its slot). */
export function internQname(hash: number, wire: Uint8Array, wireLength: number, text: string): void {
  const slot = hash & (SLOTS - 1);
  wires[slot] = wire.slice(0, wireLength);
  texts[slot] = text;
}
