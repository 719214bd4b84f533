/**
 * Whether a DoH request's body can be a DNS query: a header, then a name at
 * offset 12 that ends inside the message (uncompressed labels, or a
 * compression pointer), followed by at least the two bytes of its type.
 * dnsdist answers anything else with 400 "The DNS query could not be
 * parsed" before the query path sees it.
 */
export function wellFormedQuestion(message: Uint8Array): boolean {
  const length = message.length;
  if (length < 12) return false;
  let p = 12;
  let nameLength = 0;
  for (;;) {
    if (p >= length) return false;
    const len = message[p]!;
    if (len === 0) {
      p += 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (p + 2 > length) return false;
      p += 2;
      break;
    }
    if ((len & 0xc0) !== 0) return false;
    nameLength += len + 1;
    if (nameLength > 255) return false;
    p += 1 + len;
  }
  return p + 2 <= length;
}
