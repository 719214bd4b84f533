/**
 * What the console server calls out to: the command runner (the Lua
 * binding) and the log.
 */

/** What the server tells a runner about the command it hands over. */
export interface ConsoleRunOptions {
  /**
   * Aborted when the connection that sent the command closes (the client
   * went away, or the console is shutting down): nobody will read the
   * reply, so a long command should stop.
   */
  readonly signal: AbortSignal;
  /**
   * The most UTF-8 bytes of reply text that fit in one frame under the
   * maximum message size (setConsoleOutputMaxMsgSize less the 16-byte
   * MAC); 0 means no limit. A runner should stop collecting output there
   * (ConsoleReplyBuilder); the server cuts a longer reply anyway.
   */
  readonly maxReplyBytes: number;
}

/**
 * Runs one console line and returns the reply text exactly as it should
 * reach the client (dnsdist appends "\n" to returned values, and errors
 * read "Error: …"; that is the runner's business). A rejected promise is
 * answered with "Error: <message>\n" so a buggy runner cannot kill the
 * connection. Calls on one connection never overlap.
 */
export type ConsoleRunner = (line: string, options: ConsoleRunOptions) => Promise<string>;

/** Severity, matching dnsdist's vinfolog / infolog / warnlog / errlog. */
export type ConsoleLogLevel = 'verbose' | 'info' | 'warning' | 'error';

/** Receives the console's log lines (connections opened and closed, refusals, protocol errors). */
export type ConsoleLog = (level: ConsoleLogLevel, message: string) => void;
