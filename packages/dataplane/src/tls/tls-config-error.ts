/**
 * A TLS setting that cannot be used: a certificate or key file that cannot be
 * read or does not match, a ticket key file of the wrong size, an option with
 * a value out of range. Carries the offending input and says what to do.
 */
export class TlsConfigError extends Error {
  override readonly name = 'TlsConfigError';

  constructor(
    message: string,
    /** The file name or option value that was refused. */
    readonly input: unknown,
  ) {
    super(message);
  }
}
