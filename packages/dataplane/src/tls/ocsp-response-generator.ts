import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TlsConfigError } from './tls-config-error.js';

/** What generateOCSPResponse needs, as dnsdist's Lua function takes it. */
export interface OcspResponseRequest {
  certFile: string;
  caCertFile: string;
  caKeyFile: string;
  outFile: string;
  validityDays: number;
  validityMinutes: number;
}

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    const detail = e.stderr && e.stderr.length > 0 ? e.stderr.toString().trim() : e.message;
    throw new TlsConfigError(`openssl ${args[0]} ${args[1]} failed: ${detail}`, args);
  }
}

/** An OpenSSL CA index line: valid, expiry as YYMMDDHHMMSSZ, the serial, any subject. */
function indexLine(cert: X509Certificate): string {
  const d = new Date(cert.validTo);
  const p = (n: number): string => String(n).padStart(2, '0');
  const expiry = `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return `V\t${expiry}\t\t${cert.serialNumber}\tunknown\t/CN=dnsdist-ts\n`;
}

/**
 * dnsdist's generateOCSPResponse: a signed "good" OCSP response for the
 * certificate, made by the CA itself, for testing stapling. dnsdist-ts asks
 * the openssl command to do it (a request, then the CA answering it from a
 * one-line index) in a private temporary directory.
 */
export function generateOcspResponse(r: OcspResponseRequest): void {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(readFileSync(r.certFile));
  } catch (err) {
    throw new TlsConfigError(
      `generateOCSPResponse: unable to read a certificate from '${r.certFile}': ${(err as Error).message}`,
      r.certFile,
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'dnsdist-ts-ocsp-'));
  try {
    const index = join(dir, 'index.txt');
    const request = join(dir, 'request.der');
    writeFileSync(index, indexLine(cert));
    openssl(['ocsp', '-issuer', r.caCertFile, '-cert', r.certFile, '-no_nonce', '-reqout', request]);
    const minutes = r.validityDays * 1440 + r.validityMinutes;
    openssl([
      'ocsp',
      '-index',
      index,
      '-rsigner',
      r.caCertFile,
      '-rkey',
      r.caKeyFile,
      '-CA',
      r.caCertFile,
      '-reqin',
      request,
      '-respout',
      r.outFile,
      '-nmin',
      String(Math.max(1, minutes)),
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
