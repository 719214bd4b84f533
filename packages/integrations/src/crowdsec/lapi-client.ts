/**
 * The bouncer's side of the CrowdSec Local API: one GET of the decision
 * stream, with a deadline and a cap on the body (the LAPI is untrusted
 * input too), and errors sorted into kinds the operator can act on.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { VERSION } from '@dnsdist-ts/dataplane/version.js';

/** Kinds of failure, logged once each until a poll succeeds again. */
export type LapiErrorKind = 'unreachable' | 'auth' | 'http' | 'timeout' | 'tls' | 'malformed' | 'too-large';

/** A failed poll: its kind and words that say what to check. */
export class LapiError extends Error {
  readonly kind: LapiErrorKind;

  constructor(kind: LapiErrorKind, message: string) {
    super(message);
    this.name = new.target.name;
    this.kind = kind;
  }
}

export interface DecisionStream {
  readonly new: readonly unknown[];
  readonly deleted: readonly unknown[];
}

export interface LapiClientOptions {
  readonly url: string;
  readonly apiKey: string;
  readonly timeout: number;
  readonly caFile?: string | undefined;
  readonly maxBytes: number;
}

export class LapiClient {
  readonly #o: LapiClientOptions;
  readonly #ca: Buffer | undefined;

  /** @throws Error when caFile cannot be read. */
  constructor(o: LapiClientOptions) {
    this.#o = o;
    this.#ca = o.caFile !== undefined ? readFileSync(o.caFile) : undefined;
  }

  /** GET /v1/decisions/stream (startup=true for the full list), Ip and Range scopes. */
  async stream(startup: boolean): Promise<DecisionStream> {
    const url = new URL(`v1/decisions/stream?startup=${startup}&scopes=ip,range`, this.#o.url);
    const body = await this.#get(url);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new LapiError('malformed', `the Local API at ${this.#o.url} answered something that is not JSON: ${body.slice(0, 120)}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new LapiError('malformed', `the Local API at ${this.#o.url} answered JSON that is not an object`);
    }
    const p = parsed as Record<string, unknown>;
    const list = (k: string): unknown[] => {
      const v = p[k];
      if (v === null || v === undefined) return [];
      if (!Array.isArray(v)) throw new LapiError('malformed', `the Local API at ${this.#o.url} answered a "${k}" that is not a list`);
      return v;
    };
    return { new: list('new'), deleted: list('deleted') };
  }

  #get(url: URL): Promise<string> {
    const o = this.#o;
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method: 'GET',
          headers: { 'X-Api-Key': o.apiKey, 'User-Agent': `dnsdist-ts/${VERSION}`, Accept: 'application/json' },
          timeout: o.timeout * 1000,
          ...(this.#ca ? { ca: this.#ca } : {}),
        },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > o.maxBytes) {
              req.destroy(
                new LapiError('too-large', `the Local API at ${o.url} sent more than ${o.maxBytes} bytes (maxDecisions bounds it)`),
              );
              return;
            }
            chunks.push(c);
          });
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status === 401 || status === 403) {
              reject(
                new LapiError(
                  'auth',
                  `the Local API at ${o.url} refused the API key (HTTP ${status} ${text.trim().slice(0, 80)}): check apiKey in setCrowdSecBouncer ('cscli bouncers add NAME' prints a key, 'cscli bouncers list' shows the bouncers)`,
                ),
              );
            } else if (status !== 200) {
              reject(new LapiError('http', `the Local API at ${o.url} answered HTTP ${status}: ${text.trim().slice(0, 120)}`));
            } else resolve(text);
          });
        },
      );
      req.on('timeout', () => req.destroy(new LapiError('timeout', `the Local API at ${o.url} did not answer within ${o.timeout} s`)));
      req.on('error', (err: Error & { code?: string }) => {
        if (err instanceof LapiError) reject(err);
        else if (/CERT|SSL|TLS|self[- ]signed|altnames/i.test(`${err.code ?? ''} ${err.message}`)) {
          reject(new LapiError('tls', `TLS with the Local API at ${o.url} failed (${err.message}); check caFile in setCrowdSecBouncer`));
        } else reject(new LapiError('unreachable', `cannot reach the Local API at ${o.url} (${err.message})`));
      });
      req.end();
    });
  }
}
