/**
 * An eBPF setup the proxy cannot carry out as configured (a socket filter
 * on a listener that has no socket to filter, an XDP filter without
 * pinned maps, …). The message says what to change; `input` is what was
 * refused.
 */
export class EbpfSetupError extends Error {
  constructor(
    message: string,
    readonly input?: unknown,
  ) {
    super(message);
    this.name = 'EbpfSetupError';
  }
}
