import { DNSAction, type DNSActionCode } from '@dnsdist-ts/dataplane/query/dns-action.js';

/** Actions a CrowdSec decision type may map to, by DNSAction's Lua names. */
export const BOUNCER_ACTIONS: ReadonlyMap<string, DNSActionCode> = new Map<string, DNSActionCode>([
  ['Drop', DNSAction.Drop],
  ['Nxdomain', DNSAction.Nxdomain],
  ['Refused', DNSAction.Refused],
  ['Truncate', DNSAction.Truncate],
  ['NoOp', DNSAction.NoOp],
  ['NoRecurse', DNSAction.NoRecurse],
]);

/** ban drops in the kernel; captcha answers TC=1 (a real resolver retries over TCP, a spoofed source cannot). */
export const DEFAULT_DECISION_ACTIONS: ReadonlyMap<string, DNSActionCode> = new Map([
  ['ban', DNSAction.Drop],
  ['captcha', DNSAction.Truncate],
]);

/** setCrowdSecBouncer{…}, checked. */
export interface CrowdSecBouncerOptions {
  /** The Local API's base URL, http:// or https://, ending in '/'. */
  readonly url: string;
  /** The bouncer's API key (`cscli bouncers add NAME`). */
  readonly apiKey: string;
  /** Seconds between polls of the decision stream. */
  readonly interval: number;
  /** Seconds a request may take before it counts as failed. */
  readonly timeout: number;
  /** Shown as the blocks' origin (showDynBlocks' Origin column, the API). */
  readonly origin: string;
  /** Decision type → block action; other types are refused. */
  readonly actions: ReadonlyMap<string, DNSActionCode>;
  /** Longest decision accepted, seconds. */
  readonly maxSeconds: number;
  /** Distinct addresses and ranges the bouncer may hold. */
  readonly maxDecisions: number;
  /** PEM file of the CA(s) to trust for an https:// Local API, instead of the system's. */
  readonly caFile?: string | undefined;
}

/** A setCrowdSecBouncer option that cannot be used; names the option and the value. */
export class CrowdSecOptionError extends Error {
  readonly option: string;
  readonly input: string;

  constructor(option: string, input: unknown, message: string) {
    super(`setCrowdSecBouncer: option '${option}' ${message}`);
    this.name = new.target.name;
    this.option = option;
    this.input = String(input);
  }
}

/** What setCrowdSecBouncer's table holds before checks; absent keys take the defaults. */
export interface CrowdSecBouncerInput {
  url?: string | undefined;
  apiKey?: string | undefined;
  interval?: number | undefined;
  timeout?: number | undefined;
  origin?: string | undefined;
  /** Decision type → action name ("Drop", "Truncate", …). */
  actions?: ReadonlyMap<string, string> | undefined;
  maxSeconds?: number | undefined;
  maxDecisions?: number | undefined;
  caFile?: string | undefined;
}

const ORIGIN = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Check setCrowdSecBouncer's options and fill in the defaults.
 *
 * @throws CrowdSecOptionError for a missing url or apiKey, a URL that is not http(s)://, a bad origin, an unknown action or an out-of-range number.
 */
export function crowdSecBouncerOptions(i: CrowdSecBouncerInput): CrowdSecBouncerOptions {
  if (i.url === undefined) throw new CrowdSecOptionError('url', '', 'is required: the Local API, e.g. http://127.0.0.1:8080/');
  let url: URL;
  try {
    url = new URL(i.url);
  } catch {
    throw new CrowdSecOptionError('url', i.url, `"${i.url}" is not a URL: use http://host:port/ or https://host:port/`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CrowdSecOptionError('url', i.url, `must start with http:// or https://, got "${url.protocol}//"`);
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new CrowdSecOptionError('url', i.url, 'must not carry credentials, a query or a fragment (the key goes in apiKey)');
  }
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  if (i.caFile !== undefined && url.protocol !== 'https:') throw new CrowdSecOptionError('caFile', i.url, 'needs an https:// URL');
  if (i.apiKey === undefined || i.apiKey === '') {
    throw new CrowdSecOptionError('apiKey', '', "is required: the key 'cscli bouncers add NAME' prints");
  }
  if (!/^[\x21-\x7e]{1,256}$/.test(i.apiKey)) {
    throw new CrowdSecOptionError('apiKey', '***', 'must be 1 to 256 printable characters without spaces');
  }
  const interval = i.interval ?? 10;
  if (!(interval >= 1 && interval <= 3600)) throw new CrowdSecOptionError('interval', interval, 'must be from 1 to 3600 seconds');
  const timeout = i.timeout ?? 10;
  if (!(timeout > 0 && timeout <= 300)) throw new CrowdSecOptionError('timeout', timeout, 'must be from 0 to 300 seconds');
  const origin = i.origin ?? 'crowdsec';
  if (!ORIGIN.test(origin)) throw new CrowdSecOptionError('origin', origin, `"${origin}" must be 1 to 64 letters, digits, '.', '_' or '-'`);
  let actions = DEFAULT_DECISION_ACTIONS;
  if (i.actions !== undefined) {
    const m = new Map<string, DNSActionCode>();
    for (const [type, name] of i.actions) {
      const code = BOUNCER_ACTIONS.get(name);
      if (code === undefined) {
        throw new CrowdSecOptionError(
          'actions',
          name,
          `maps "${type}" to "${name}"; the actions are ${[...BOUNCER_ACTIONS.keys()].map((x) => `"${x}"`).join(', ')}`,
        );
      }
      m.set(type, code);
    }
    actions = m;
  }
  const maxSeconds = i.maxSeconds ?? 7 * 86400;
  if (!Number.isInteger(maxSeconds) || maxSeconds < 1)
    throw new CrowdSecOptionError('maxSeconds', maxSeconds, 'must be a whole number of seconds, 1 or more');
  const maxDecisions = i.maxDecisions ?? 1_000_000;
  if (!Number.isInteger(maxDecisions) || maxDecisions < 1)
    throw new CrowdSecOptionError('maxDecisions', maxDecisions, 'must be a whole number, 1 or more');
  return { url: url.toString(), apiKey: i.apiKey, interval, timeout, origin, actions, maxSeconds, maxDecisions, caFile: i.caFile };
}
