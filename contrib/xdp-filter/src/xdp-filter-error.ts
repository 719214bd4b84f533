/** Thrown for a bad option, a missing interface or program, or a pinned map that cannot be used; carries the offending input. */
export class XdpFilterError extends Error {
  constructor(
    message: string,
    readonly input?: unknown,
  ) {
    super(message);
    this.name = 'XdpFilterError';
  }
}
