/**
 * Errors raised by BPFFilter. The message is what dnsdist would say where
 * dnsdist says something (its Lua users match on those texts); `input`
 * holds what was rejected.
 */
export class BPFFilterError extends Error {
  constructor(
    message: string,
    readonly input?: unknown,
  ) {
    super(message);
    this.name = 'BPFFilterError';
  }
}

/** A newBPFFilter option that is unknown, of the wrong type or out of range. */
export class BPFFilterConfigError extends BPFFilterError {
  constructor(
    message: string,
    readonly key: string,
    input?: unknown,
  ) {
    super(message, input);
    this.name = 'BPFFilterConfigError';
  }
}
