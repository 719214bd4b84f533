/**
 * The certificate loader the DoT and DoH listeners share: what it reads,
 * and each refusal naming the file at fault (real files made per run with
 * the openssl command).
 */
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCertificateFiles, pairCertificateFiles } from '@dnsdist-ts/dataplane/tls/certificate-files.js';
import { TlsConfigError } from '@dnsdist-ts/dataplane/tls/tls-config-error.js';
import { makeTestPki, type TestPki } from '../../../../test/support/tls-certificates.js';

describe('loadCertificateFiles / pairCertificateFiles', () => {
  let pki: TestPki;
  let ec: { chain: string; key: string };
  let rsa: { chain: string; key: string };

  beforeAll(() => {
    pki = makeTestPki();
    ec = pki.issue('ec.test', ['ec.test']);
    rsa = pki.issue('rsa.test', ['rsa.test'], 'rsa');
  });
  afterAll(() => pki?.remove());

  it('reads an ECDSA and an RSA pair in order, with each leaf (for OCSP) and the passphrase of a key', () => {
    const ocsp = join(pki.dir, 'ocsp.der');
    writeFileSync(ocsp, Buffer.from([0x30, 0x03, 0x0a, 0x01, 0x00]));
    const loaded = loadCertificateFiles(
      [
        { certFile: ec.chain, keyFile: ec.key },
        { certFile: rsa.chain, keyFile: rsa.key, password: 'secret' },
      ],
      [ocsp],
    );
    expect(loaded.leafDer.map((d) => new X509Certificate(d).subject)).toEqual(['CN=ec.test', 'CN=rsa.test']);
    expect(loaded.keys.map((k) => k.passphrase)).toEqual([undefined, 'secret']);
    expect(loaded.ocsp).toHaveLength(1);
  });

  it.each([
    ['no pair at all', () => loadCertificateFiles([]), /no certificate and key given/],
    [
      'a missing certificate file',
      () => loadCertificateFiles([{ certFile: '/nonexistent/c.pem', keyFile: '/k' }]),
      /unable to read the certificate file '\/nonexistent\/c\.pem'/,
    ],
    [
      'a missing OCSP response file',
      () => loadCertificateFiles([{ certFile: ec.chain, keyFile: ec.key }], ['/nonexistent/o.der']),
      /unable to read the OCSP response file '\/nonexistent\/o\.der'/,
    ],
    [
      'two certificates with the same key type',
      () =>
        loadCertificateFiles([
          { certFile: ec.chain, keyFile: ec.key },
          { certFile: ec.chain, keyFile: ec.key },
        ]),
      /both have ec keys: one certificate per key type/,
    ],
    [
      'two certificates for one key',
      () => pairCertificateFiles(['/a.pem', '/b.pem'], ['/a.key']),
      /2 certificate file\(s\) but 1 key file\(s\)/,
    ],
  ])('refuses %s with a TlsConfigError that says why', (_what, load, message) => {
    expect(load).toThrow(TlsConfigError);
    expect(load).toThrow(message);
  });

  it('refuses a key file without a PEM block, naming it', () => {
    const bad = join(pki.dir, 'bad.key');
    writeFileSync(bad, 'not a key');
    expect(() => loadCertificateFiles([{ certFile: ec.chain, keyFile: bad }])).toThrow(`the key file '${bad}' holds no PEM private key`);
  });

  it('refuses a certificate file without a certificate, naming it', () => {
    expect(() => loadCertificateFiles([{ certFile: ec.key, keyFile: ec.key }])).toThrow(
      `the certificate file '${ec.key}' holds no PEM certificate`,
    );
  });
});
