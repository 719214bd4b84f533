/**
 * dnsdist's DOHResponseMapEntry (newDOHResponseMapEntry(regex, status,
 * content [, headers])): a request whose path matches `regex` is answered
 * at once with `status` and `content`, before any DNS processing. With
 * `headers` given they replace the frontend's customResponseHeaders for
 * that answer.
 */
export class DohResponseMapEntry {
  readonly regex: string;
  readonly status: number;
  readonly content: Buffer;
  /** Header names lower-cased; undefined: the frontend's custom headers apply. */
  readonly headers: ReadonlyArray<[string, string]> | undefined;
  readonly #re: RegExp;

  /** @throws Error when `regex` does not compile or the status is outside 100-999. */
  constructor(regex: string, status: number, content: Buffer, headers?: Array<[string, string]>) {
    if (!Number.isInteger(status) || status < 100 || status > 999) {
      throw new Error(`newDOHResponseMapEntry: HTTP status ${status} is not a three-digit code (100-999)`);
    }
    try {
      this.#re = new RegExp(regex);
    } catch (err) {
      throw new Error(
        `newDOHResponseMapEntry: regular expression "${regex}" did not compile (${(err as Error).message}): fix the expression`,
      );
    }
    this.regex = regex;
    this.status = status;
    this.content = content;
    this.headers = headers?.map(([k, v]) => [k.toLowerCase(), v]);
  }

  matches(path: string): boolean {
    return this.#re.test(path);
  }
}
