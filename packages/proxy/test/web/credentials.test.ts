import { CredentialsHolder, hashPassword, HashPasswordError, parseHashedPassword } from '@dnsdist-ts/web/web/credentials.js';

describe('credentials', () => {
  // Produced by Debian's dnsdist 1.7.3: hashPassword("secret").
  const DNSDIST_HASH = '$scrypt$ln=10,p=1,r=8$m00nu7WmaXx/MeWHrQ/5ug==$hbVnPSV3qDB9WJqa3XSb6ET40JSXlhhKAI7aqyz55iQ=';

  it('verifies a hash made by dnsdist 1.7.3', async () => {
    const h = CredentialsHolder.fromConfig(DNSDIST_HASH);
    expect(h.wasHashed).toBe(true);
    expect(await h.matches('secret')).toBe(true);
    expect(await h.matches('Secret')).toBe(false);
    expect(await h.matches(DNSDIST_HASH)).toBe(false);
  });

  it('hashes with a fresh salt in dnsdist’s format, at the requested work factor', async () => {
    const a = hashPassword('pw', 32);
    const b = hashPassword('pw', 32);
    expect(a).not.toBe(b);
    expect(parseHashedPassword(a)).toMatchObject({ workFactor: 32, parallelFactor: 1, blockSize: 8 });
    expect(await CredentialsHolder.fromConfig(a).matches('pw')).toBe(true);
    for (const bad of [0, 1, 3, 1000, 2 ** 21]) expect(() => hashPassword('pw', bad)).toThrow(HashPasswordError);
  });

  it('takes text that only looks like a hash as plain text, as dnsdist does', async () => {
    for (const text of ['$scrypt$ln=10,p=1,r=8$bad', '$scrypt$ln=99,p=1,r=8$AAAA$AAAA', '$scrypt$ln=10,p=1$AAAA$AAAA', 'plain']) {
      expect(parseHashedPassword(text)).toBeUndefined();
      const h = CredentialsHolder.fromConfig(text);
      expect(h.wasHashed).toBe(false);
      expect(await h.matches(text)).toBe(true);
      expect(await h.matches(`${text}x`)).toBe(false);
    }
  });

  it('hashes plain text on request, so that only the hash stays in memory', async () => {
    const h = CredentialsHolder.fromConfig('plain', true);
    expect(h.wasHashed).toBe(false);
    expect(h.isHashed).toBe(true);
    expect(await h.matches('plain')).toBe(true);
  });
});
