/**
 * Typed errors of the rules layer. Each carries the input it rejected and
 * says what would be accepted instead; the Lua binding turns them into the
 * console's "Error: …" replies.
 */

/** A selector or action was built with a value it cannot work with (a negative QPS, a /40 IPv4 mask, …). */
export class RuleArgumentError extends Error {
  /** Which constructor and parameter: "MaxQPSIPRule.v4Mask". */
  readonly parameter: string;
  /** The rejected value. */
  readonly input: unknown;

  constructor(parameter: string, input: unknown, message: string) {
    super(message);
    this.name = new.target.name;
    this.parameter = parameter;
    this.input = input;
  }
}

/** RegexRule's expression did not compile. */
export class InvalidRegexError extends Error {
  readonly input: string;

  constructor(input: string, cause: unknown, how = 'it is matched case-insensitively against the qname without its trailing dot') {
    super(
      `regular expression "${input}" did not compile (${cause instanceof Error ? cause.message : String(cause)}): fix the expression; ${how}`,
    );
    this.name = new.target.name;
    this.input = input;
  }
}

/** A rule UUID given to `addAction(…, {uuid=…})` is not a UUID. */
export class InvalidRuleUuidError extends Error {
  readonly input: string;

  constructor(input: string) {
    super(`"${input}" is not a UUID: give 32 hex digits as 8-4-4-4-12, e.g. "123e4567-e89b-12d3-a456-426655440000"`);
    this.name = new.target.name;
    this.input = input;
  }
}

/**
 * A rule-chain operation that dnsdist refuses (deleting or moving a rule that
 * is not there). `consoleText` is the exact line dnsdist's console prints
 * for it, so the Lua binding can reply the same.
 */
export class RuleChainError extends Error {
  /** The index, name or UUID the caller gave. */
  readonly input: number | string | readonly [number, number];
  /** dnsdist's console reply, e.g. "Error: attempt to delete non-existing rule". */
  readonly consoleText: string;

  constructor(input: number | string | readonly [number, number], consoleText: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.input = input;
    this.consoleText = consoleText;
  }
}

/** LogAction / LogResponseAction could not open their file. */
export class LogFileOpenError extends Error {
  readonly path: string;

  constructor(path: string, cause: unknown) {
    // Same wording as dnsdist, plus what to check.
    super(
      `Unable to open file '${path}' for logging: ${cause instanceof Error ? cause.message : String(cause)}; ` +
        'check that the directory exists and is writable by the proxy',
    );
    this.name = new.target.name;
    this.path = path;
  }
}
