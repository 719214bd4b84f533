/**
 * Typed errors of the dynamic-block layer. Each carries the input it
 * rejected and says what would be accepted; the Lua bindings turn them
 * into the console's "Error: …" replies.
 */

/** A dynamic-block setting or rule parameter is out of range (a /33 mask, an action blocks cannot take, …). */
export class DynBlockArgumentError extends Error {
  /** Which function and parameter: "setMasks.v4". */
  readonly parameter: string;
  /** The rejected value, as given. */
  readonly input: unknown;

  constructor(parameter: string, input: unknown, message: string) {
    super(message);
    this.name = new.target.name;
    this.parameter = parameter;
    this.input = input;
  }
}
