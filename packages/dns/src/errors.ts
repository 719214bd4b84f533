/**
 * Typed errors. Each carries the input it rejected, and its message says
 * what is wrong with that input and what would be accepted instead, so
 * callers can branch on the class and show users something actionable.
 */

/** A DNS name, in text or wire form, that is not a valid name. */
export class DnsNameError extends Error {
  /** The rejected name: the text as given, or the wire bytes. */
  readonly input: string | Uint8Array;
  /** For wire input: the byte offset where the problem was found. */
  readonly offset: number | undefined;

  constructor(message: string, input: string | Uint8Array, offset?: number) {
    super(message);
    this.name = new.target.name;
    this.input = input;
    this.offset = offset;
  }
}

/** An IP address, address with port, or netmask that could not be parsed or formatted. */
export class AddressParseError extends Error {
  /** The rejected text, or the raw bytes when formatting an address of the wrong size. */
  readonly input: string | Uint8Array;

  constructor(message: string, input: string | Uint8Array) {
    super(message);
    this.name = new.target.name;
    this.input = input;
  }
}

/**
 * A DNS message, or a value meant to go into one, that a packet function
 * cannot work with: a buffer too short for a header, a query whose question
 * did not parse, or a field value out of range (an RCODE over 15, a TTL
 * outside 0 to 2^32-1).
 */
export class DnsPacketError extends Error {
  /** The rejected packet bytes, or the rejected field value. */
  readonly input: Uint8Array | number;

  constructor(message: string, input: Uint8Array | number) {
    super(message);
    this.name = new.target.name;
    this.input = input;
  }
}
