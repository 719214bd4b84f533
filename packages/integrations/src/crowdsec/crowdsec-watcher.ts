/**
 * dnsdist-ts as a CrowdSec source: the client blocks this node's own rules
 * make are sent to the Local API as alerts carrying a decision (the
 * watcher API: POST /v1/watchers/login, then POST /v1/alerts), so
 * firewall bouncers and the rest of a CrowdSec deployment see DNS abuse.
 * Sending happens in the background, batched; the LAPI being away never
 * delays DNS or blocking: alerts wait in a bounded queue and are retried.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { BlockSource, DynamicBlocks, DynBlock, DynBlockObserver } from '@dnsdist-ts/dynblocks/dynblocks/index.js';
import { chainObservers } from '@dnsdist-ts/dynblocks/dynblocks/index.js';
import type { Logger } from '@dnsdist-ts/dataplane/server/logger.js';
import { VERSION } from '@dnsdist-ts/dataplane/version.js';

/** setCrowdSecWatcher{…}, checked. */
export interface CrowdSecWatcherOptions {
  /** The Local API's base URL, ending in '/'. */
  readonly url: string;
  /** The machine's login and password (`cscli machines add NAME --password …`). */
  readonly machineId: string;
  readonly password: string;
  /** Which local blocks are reported. */
  readonly share: ReadonlySet<BlockSource>;
  /** The decision type the alerts carry. */
  readonly decisionType: string;
  /** The scenario name the alerts carry. */
  readonly scenario: string;
  readonly timeout: number;
  readonly caFile?: string | undefined;
}

export class CrowdSecWatcherOptionError extends Error {
  constructor(option: string, message: string) {
    super(`setCrowdSecWatcher: option '${option}' ${message}`);
    this.name = new.target.name;
  }
}

/** Sources setCrowdSecWatcher's `share` may name (blocks from the fleet or CrowdSec itself never go back). */
export const REPORTABLE_SOURCES: readonly BlockSource[] = ['rules', 'lua', 'api'];

export interface CrowdSecWatcherInput {
  url?: string | undefined;
  machineId?: string | undefined;
  password?: string | undefined;
  share?: readonly string[] | undefined;
  decisionType?: string | undefined;
  scenario?: string | undefined;
  timeout?: number | undefined;
  caFile?: string | undefined;
}

/** @throws CrowdSecWatcherOptionError naming the option. */
export function crowdSecWatcherOptions(i: CrowdSecWatcherInput): CrowdSecWatcherOptions {
  if (i.url === undefined) throw new CrowdSecWatcherOptionError('url', 'is required: the Local API, e.g. http://127.0.0.1:8080/');
  let url: URL;
  try {
    url = new URL(i.url);
  } catch {
    throw new CrowdSecWatcherOptionError('url', `"${i.url}" is not a URL: use http://host:port/ or https://host:port/`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CrowdSecWatcherOptionError('url', `must start with http:// or https://, got "${url.protocol}//"`);
  }
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  if (i.machineId === undefined || !/^[A-Za-z0-9._-]{1,64}$/.test(i.machineId)) {
    throw new CrowdSecWatcherOptionError('machineId', "is required: the machine's name ('cscli machines add NAME --password …')");
  }
  if (i.password === undefined || i.password === '')
    throw new CrowdSecWatcherOptionError('password', "is required: the machine's password");
  const share = new Set<BlockSource>();
  for (const s of i.share ?? ['rules']) {
    if (!(REPORTABLE_SOURCES as readonly string[]).includes(s)) {
      throw new CrowdSecWatcherOptionError('share', `has "${s}"; the sources are ${REPORTABLE_SOURCES.map((x) => `"${x}"`).join(', ')}`);
    }
    share.add(s as BlockSource);
  }
  const decisionType = i.decisionType ?? 'ban';
  if (!/^[a-z_-]{1,32}$/.test(decisionType))
    throw new CrowdSecWatcherOptionError('decisionType', `"${decisionType}" is not a decision type`);
  const scenario = i.scenario ?? 'dnsdist-ts/dynblock';
  if (!/^[A-Za-z0-9._/-]{1,128}$/.test(scenario)) throw new CrowdSecWatcherOptionError('scenario', `"${scenario}" is not a scenario name`);
  const timeout = i.timeout ?? 10;
  if (!(timeout > 0 && timeout <= 300)) throw new CrowdSecWatcherOptionError('timeout', 'must be from 0 to 300 seconds');
  if (i.caFile !== undefined && url.protocol !== 'https:') throw new CrowdSecWatcherOptionError('caFile', 'needs an https:// URL');
  return { url: url.toString(), machineId: i.machineId, password: i.password, share, decisionType, scenario, timeout, caFile: i.caFile };
}

/** Alerts waiting to be sent at most; beyond, the oldest are dropped and counted. */
const MAX_QUEUE = 10_000;
/** Alerts per POST. */
const BATCH = 500;
/** An ongoing block is reported again only when its deadline moved this much past the last report. */
const REREPORT_MS = 60_000;
const FIRST_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 60_000;

interface PendingAlert {
  readonly body: Record<string, unknown>;
}

export interface CrowdSecWatcherStats {
  readonly configured: boolean;
  readonly sent: number;
  readonly dropped: number;
  readonly queued: number;
  readonly lastError: string | undefined;
}

/** 'sent' (alerts in the batch), 'failed' (the error text). */
export type CrowdSecWatcherEvent = 'sent' | 'failed';

export class CrowdSecWatcher implements DynBlockObserver {
  readonly events = new EventEmitter();
  readonly #blocks: DynamicBlocks;
  readonly #log: Logger;
  #opts: CrowdSecWatcherOptions | undefined;
  #ca: Buffer | undefined;
  #started = false;
  #token: { value: string; until: number } | undefined;
  readonly #queue: PendingAlert[] = [];
  readonly #reportedUntil = new WeakMap<DynBlock, number>();
  #timer: NodeJS.Timeout | undefined;
  #sending = false;
  #flushing: Promise<void> | undefined;
  #backoffMs = FIRST_BACKOFF_MS;
  #lastLogged: string | undefined;
  #sent = 0;
  #dropped = 0;
  #lastError: string | undefined;

  constructor(blocks: DynamicBlocks, log: Logger) {
    this.#blocks = blocks;
    this.#log = log;
  }

  /** @throws Error when already configured or caFile cannot be read. */
  configure(opts: CrowdSecWatcherOptions): void {
    if (this.#opts) throw new Error('setCrowdSecWatcher: a watcher is already configured; restart to change it');
    this.#ca = opts.caFile !== undefined ? readFileSync(opts.caFile) : undefined;
    this.#opts = opts;
    this.#blocks.observer = chainObservers(this.#blocks.observer, this);
  }

  start(): void {
    this.#started = true;
    if (this.#queue.length > 0) this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#started = false;
    clearTimeout(this.#timer);
    await this.#flushing;
  }

  inserted(block: DynBlock, source: BlockSource | undefined): void {
    const opts = this.#opts!;
    if (source === undefined || !opts.share.has(source) || !block.range || block.warning || block.tag !== undefined) return;
    const last = this.#reportedUntil.get(block);
    if (last !== undefined && block.until < last + REREPORT_MS) return;
    const now = performance.now();
    // Rounded down, so the decision never outlasts the block: a bouncer here reading it back changes nothing.
    const seconds = Math.floor((block.until - now) / 1000);
    if (seconds <= 0) return;
    this.#reportedUntil.set(block, block.until);
    const single = block.range.isSingleAddress;
    const text = block.keyText();
    const value = single ? text.replace(/\/\d+$/, '') : text;
    const scope = single ? 'Ip' : 'Range';
    const at = new Date().toISOString();
    this.#queue.push({
      body: {
        scenario: opts.scenario,
        scenario_hash: '',
        scenario_version: '',
        message: `dnsdist-ts dynamic block of ${text}: ${block.reason}`.slice(0, 1024),
        events_count: 1,
        start_at: at,
        stop_at: at,
        capacity: 0,
        leakspeed: '0',
        simulated: false,
        events: [],
        remediation: true,
        source: single ? { scope, value, ip: value } : { scope, value, range: value },
        decisions: [
          {
            duration: `${seconds}s`,
            origin: 'dnsdist-ts',
            scenario: block.reason.slice(0, 256) || opts.scenario,
            scope,
            type: opts.decisionType,
            value,
          },
        ],
      },
    });
    if (this.#queue.length > MAX_QUEUE) {
      this.#queue.shift();
      this.#dropped++;
    }
    if (this.#started && !this.#sending && this.#timer === undefined) this.#schedule(0);
  }

  removed(): void {}
  cleared(): void {}

  #schedule(ms: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#track(this.#flush());
    }, ms);
    this.#timer.unref();
  }

  /** Send what is queued (tests call it to wait for the batch); resolves when sent or failed. */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#flushing;
    await this.#track(this.#flush());
  }

  #track(p: Promise<void>): Promise<void> {
    this.#flushing = p.finally(() => {
      if (this.#flushing === tracked) this.#flushing = undefined;
    });
    const tracked = this.#flushing;
    return tracked;
  }

  async #flush(): Promise<void> {
    if (this.#sending || this.#queue.length === 0) return;
    this.#sending = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.slice(0, BATCH);
        const token = await this.#login();
        const res = await this.#post(
          'v1/alerts',
          batch.map((a) => a.body),
          token,
        );
        if (res.status === 401) {
          this.#token = undefined;
          throw new Error(`the Local API at ${this.#opts!.url} refused the watcher's token (HTTP 401); logging in again`);
        }
        if (res.status !== 201 && res.status !== 200) {
          throw new Error(`the Local API at ${this.#opts!.url} refused the alerts (HTTP ${res.status}: ${res.body.trim().slice(0, 160)})`);
        }
        this.#queue.splice(0, batch.length);
        this.#sent += batch.length;
        this.events.emit('sent', batch.length);
      }
      this.#backoffMs = FIRST_BACKOFF_MS;
      if (this.#lastLogged !== undefined) this.#log.info(`CrowdSec watcher: sending alerts to ${this.#opts!.url} again`);
      this.#lastLogged = undefined;
      this.#lastError = undefined;
    } catch (err) {
      const text = (err as Error).message;
      this.#lastError = text;
      this.events.emit('failed', text);
      const kind = text.replace(/\d+/g, '#');
      if (kind !== this.#lastLogged) {
        this.#lastLogged = kind;
        this.#log.error(`CrowdSec watcher: ${text}; ${this.#queue.length} alert(s) kept, retrying with backoff`);
      }
      if (this.#started) this.#schedule(this.#backoffMs);
      this.#backoffMs = Math.min(this.#backoffMs * 2, MAX_BACKOFF_MS);
    } finally {
      this.#sending = false;
    }
  }

  async #login(): Promise<string> {
    if (this.#token && this.#token.until > Date.now() + 60_000) return this.#token.value;
    const o = this.#opts!;
    const res = await this.#post('v1/watchers/login', { machine_id: o.machineId, password: o.password, scenarios: [o.scenario] });
    if (res.status !== 200) {
      throw new Error(
        `the Local API at ${o.url} refused the watcher login of "${o.machineId}" (HTTP ${res.status}: ${res.body.trim().slice(0, 120)}); check machineId and password in setCrowdSecWatcher ('cscli machines list')`,
      );
    }
    let parsed: { token?: unknown; expire?: unknown };
    try {
      parsed = JSON.parse(res.body) as typeof parsed;
    } catch {
      throw new Error(`the Local API at ${o.url} answered the login with something that is not JSON`);
    }
    if (typeof parsed.token !== 'string') throw new Error(`the Local API at ${o.url} answered the login without a token`);
    const until = typeof parsed.expire === 'string' ? Date.parse(parsed.expire) : NaN;
    this.#token = { value: parsed.token, until: Number.isFinite(until) ? until : Date.now() + 600_000 };
    return parsed.token;
  }

  #post(path: string, body: unknown, token?: string): Promise<{ status: number; body: string }> {
    const o = this.#opts!;
    const url = new URL(path, o.url);
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const data = JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            'Content-Length': Buffer.byteLength(data),
            // The LAPI reads name/version from it (a login without a version is refused as a wrong password).
            'User-Agent': `dnsdist-ts/${VERSION}`,
            ...(token ? { Authorization: `Bearer ${token}` } : {}),
          },
          timeout: o.timeout * 1000,
          ...(this.#ca ? { ca: this.#ca } : {}),
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            if (text.length < 65536) text += c;
          });
          res.on('error', reject);
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`the Local API at ${o.url} did not answer within ${o.timeout} s`)));
      req.on('error', (err) =>
        reject(err.message.startsWith('the Local API') ? err : new Error(`cannot reach the Local API at ${o.url} (${err.message})`)),
      );
      req.end(data);
    });
  }

  stats(): CrowdSecWatcherStats {
    return {
      configured: this.#opts !== undefined,
      sent: this.#sent,
      dropped: this.#dropped,
      queued: this.#queue.length,
      lastError: this.#lastError,
    };
  }
}
