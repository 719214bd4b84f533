/**
 * What the console server calls out to: the command runner (the Lua
 * binding) and the log.
 */

/**
 * Runs one console line and returns the reply text exactly as it should
 * reach the client (dnsdist appends "\n" to returned values, and errors
 * read "Error: …"; that is the runner's business). A rejected promise is
 * answered with "Error: <message>\n" so a buggy runner cannot kill the
 * connection. Calls on one connection never overlap.
 */
export type ConsoleRunner = (line: string) => Promise<string>;

/** Severity, matching dnsdist's vinfolog / infolog / warnlog / errlog. */
export type ConsoleLogLevel = 'verbose' | 'info' | 'warning' | 'error';

/** Receives the console's log lines (connections opened and closed, refusals, protocol errors). */
export type ConsoleLog = (level: ConsoleLogLevel, message: string) => void;
