/** A DNSCrypt key, certificate or configuration problem; `input` is the offending file, value or packet origin. */
export class DNSCryptError extends Error {
  constructor(
    message: string,
    readonly input: string,
  ) {
    super(message);
    this.name = 'DNSCryptError';
  }
}
