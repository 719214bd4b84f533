/**
 * An argument to a ring-buffer function (sizes, masks, rates, top-N
 * counts) that is out of range. Carries the rejected value; the message
 * says which values are accepted.
 */
export class RingArgumentError extends Error {
  /** The value that was rejected, as given. */
  readonly input: unknown;

  constructor(message: string, input: unknown) {
    super(message);
    this.name = new.target.name;
    this.input = input;
  }
}

/** Throws unless `value` is an integer in [min, max]; `what` names the argument in the message. */
export function requireIntegerInRange(value: number, min: number, max: number, what: string): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RingArgumentError(`${what} must be an integer from ${min} to ${max}, got ${String(value)}`, value);
  }
}
