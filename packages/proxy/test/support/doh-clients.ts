/**
 * Real DoH clients for tests: certificates made per run with the openssl
 * CLI, requests sent with curl (HTTP/2 or HTTP/1.1) and kdig +https.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A self-signed certificate for `name` (and 127.0.0.1) in its own temporary directory. */
export interface TestCertificate {
  readonly dir: string;
  readonly cert: string;
  readonly key: string;
  cleanup(): void;
}

export async function makeCertificate(name = 'doh.test', dir?: string): Promise<TestCertificate> {
  const d = dir ?? mkdtempSync(join(tmpdir(), 'dts-doh-cert-'));
  const cert = join(d, `${name}.pem`);
  const key = join(d, `${name}.key`);
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-addext',
    `subjectAltName=DNS:${name},IP:127.0.0.1`,
  ]);
  return { dir: d, cert, key, cleanup: () => rmSync(d, { recursive: true, force: true }) };
}

export interface HttpResult {
  status: number;
  /** Header names lower-cased; the last response's headers when there were several (101, 100). */
  headers: Map<string, string>;
  body: Buffer;
  /** curl's verbose output (TLS details such as the server certificate's subject). */
  verbose: string;
}

/**
 * One request with curl. `args` are curl's own (--http2, -X POST, --data-binary @file, -H …);
 * the body and headers are captured through files.
 */
export async function curl(url: string, args: string[] = []): Promise<HttpResult> {
  const dir = mkdtempSync(join(tmpdir(), 'dts-curl-'));
  try {
    const headerFile = join(dir, 'headers');
    const bodyFile = join(dir, 'body');
    const { stderr } = await run('curl', ['-s', '-v', '--max-time', '10', '-D', headerFile, '-o', bodyFile, ...args, url], {
      encoding: 'utf8',
    });
    const blocks = readFileSync(headerFile, 'latin1')
      .split(/\r?\n\r?\n/)
      .filter((b) => b.trim() !== '');
    const last = blocks[blocks.length - 1] ?? '';
    const lines = last.split(/\r?\n/);
    const status = Number(/^HTTP\/[\d.]+ (\d+)/.exec(lines[0] ?? '')?.[1] ?? 0);
    const headers = new Map<string, string>();
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      if (i > 0) headers.set(l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim());
    }
    let body = Buffer.alloc(0);
    try {
      body = readFileSync(bodyFile);
    } catch {
      // no body written
    }
    return { status, headers, body, verbose: stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** kdig +https against 127.0.0.1:`port`, verifying the server with `ca`; returns kdig's text output. */
export async function kdigHttps(port: number, name: string, opts: { ca: string; path?: string; get?: boolean }): Promise<string> {
  const { stdout } = await run(
    'kdig',
    [
      '@127.0.0.1',
      '-p',
      String(port),
      `+https=${opts.path ?? '/dns-query'}`,
      ...(opts.get ? ['+https-get'] : []),
      `+tls-ca=${opts.ca}`,
      '+tls-hostname=doh.test',
      '+timeout=5',
      '+retry=0',
      name,
      'A',
    ],
    { encoding: 'utf8' },
  );
  return stdout;
}

/** A DNS query's base64url text, as the `dns` GET parameter carries it. */
export function dnsParam(query: Buffer): string {
  return query.toString('base64url');
}
