/**
 * Typed errors of the console. Each carries what it rejected and its
 * message says what to do about it, so the Lua binding and the CLI can
 * print it as is and callers can branch on the class.
 */

/** A console key (setKey / -k) that is not base64 of exactly 32 bytes. */
export class ConsoleKeyError extends Error {
  /** The key text as given. */
  readonly input: string;

  constructor(message: string, input: string) {
    super(message);
    this.name = new.target.name;
    this.input = input;
  }
}

/** A controlSocket() / -c address that cannot be parsed as "ip[:port]". */
export class ConsoleAddressError extends Error {
  /** The address text as given. */
  readonly input: string;

  constructor(message: string, input: string) {
    super(message);
    this.name = new.target.name;
    this.input = input;
  }
}

/** A frame whose secretbox does not open with our key and the expected nonce. */
export class ConsoleDecryptError extends Error {
  /** The sealed bytes that failed to open (MAC + ciphertext). */
  readonly input: Uint8Array;

  constructor(input: Uint8Array) {
    super(`a ${input.length}-byte console frame did not decrypt: the peer uses another key (check setKey/-k) or the stream is out of step`);
    this.name = new.target.name;
    this.input = input;
  }
}

/** A frame announcing more bytes than the configured maximum message size. */
export class ConsoleFrameTooLargeError extends Error {
  /** The length announced in the frame header. */
  readonly length: number;
  /** The maximum in force (setConsoleOutputMaxMsgSize). */
  readonly limit: number;

  constructor(length: number, limit: number) {
    super(
      `a console frame announces ${length} bytes, over the maximum of ${limit}; raise it with setConsoleOutputMaxMsgSize() if this is legitimate`,
    );
    this.name = new.target.name;
    this.length = length;
    this.limit = limit;
  }
}

/** Why a console client lost (or never had) its connection. */
export type ConsoleConnectionFailure = 'connect' | 'handshake' | 'closed';

/**
 * The client could not reach the console, the server hung up during the
 * nonce exchange (ACL or connection limit), or closed the connection later.
 */
export class ConsoleConnectionError extends Error {
  /** "host:port" of the console server. */
  readonly address: string;
  readonly failure: ConsoleConnectionFailure;

  constructor(message: string, address: string, failure: ConsoleConnectionFailure, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.address = address;
    this.failure = failure;
  }
}

/** The server closed the connection on our first (empty) encrypted message: the keys differ. */
export class ConsoleKeyMismatchError extends Error {
  /** "host:port" of the console server. */
  readonly address: string;

  constructor(address: string) {
    super(`the console key does not match the server's; check setKey/-k (server ${address})`);
    this.name = new.target.name;
    this.address = address;
  }
}
