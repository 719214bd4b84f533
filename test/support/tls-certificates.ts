/**
 * Certificates for the TLS tests, made per run with the openssl command in
 * a private temporary directory: a CA, and server certificates it signs for
 * the names given (subjectAltName), each with a fresh key and serial.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  readonly dir: string;
  readonly caCert: string;
  readonly caKey: string;
  /** Issue (or re-issue: a new key and serial) a server certificate; returns its chain (leaf + CA) and key files. */
  issue(name: string, altNames: readonly string[], keyType?: 'ec' | 'rsa'): { chain: string; cert: string; key: string };
  remove(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
}

export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'dts-pki-'));
  const caCert = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca.key');
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      caKey,
      '-out',
      caCert,
      '-days',
      '2',
      '-subj',
      '/CN=dnsdist-ts test CA',
    ],
    dir,
  );
  let serial = 0;
  return {
    dir,
    caCert,
    caKey,
    issue(name, altNames, keyType = 'ec') {
      serial++;
      const base = join(dir, `${name}-${serial}`);
      const ext = `${base}.ext`;
      writeFileSync(
        ext,
        `subjectAltName=${altNames.map((n) => `DNS:${n}`).join(',')}\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n`,
      );
      const newKey = keyType === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
      openssl(['req', ...newKey, '-nodes', '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${name}`], dir);
      openssl(
        [
          'x509',
          '-req',
          '-in',
          `${base}.csr`,
          '-CA',
          caCert,
          '-CAkey',
          caKey,
          '-set_serial',
          String(1000 + serial),
          '-days',
          '1',
          '-extfile',
          ext,
          '-out',
          `${base}.pem`,
        ],
        dir,
      );
      const chain = `${base}.chain`;
      writeFileSync(chain, Buffer.concat([readFileSync(`${base}.pem`), readFileSync(caCert)]));
      return { chain, cert: `${base}.pem`, key: `${base}.key` };
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
