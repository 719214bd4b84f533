import { sodiumReady } from '@dnsdist-ts/dataplane/dnscrypt/dnscrypt-certificate.js';
import { xchachaBeforenm, xchachaOpen, xchachaSeal } from '@dnsdist-ts/dataplane/dnscrypt/dnscrypt-xchacha.js';

// Known values from the system libsodium 1.0.18 (crypto_box_curve25519xchacha20poly1305_beforenm and
// _easy_afternm through ctypes): client secret key 00..1f, resolver secret key 20..3f, nonce 64..7b.
const CLIENT_SK = Uint8Array.from({ length: 32 }, (_, i) => i);
const RESOLVER_PK = Buffer.from('358072d6365880d1aeea329adf9121383851ed21a28e3b75e965d0d2cd166254', 'hex');
const KEY = 'f829d921c627acb72402ac20fb0d9353fe184bf3a042933e305be08fcc25d07e';
const NONCE = Uint8Array.from({ length: 24 }, (_, i) => 100 + i);
const MESSAGE = Buffer.concat([Buffer.from('a DNSCrypt v2 query'), Buffer.from([0x80]), Buffer.alloc(80)]);
const BOX =
  '704c811b2e799dce6deb721fa3cd2f925489f258d885a1fe60f8f7ecd80d2336fdef526412a741ac3b0a2b8bc58aea019cd5c119c973a43fb57c43028feea2be' +
  'a2a13129a986fc011a854b4098457b94a310d5ceabcf69e18bc5049886887adc2e5bb24fc73fb29359e9bea82945aeb72b123aa9';

beforeAll(() => sodiumReady());

describe('X25519-XChaCha20-Poly1305 boxes (DNSCrypt exchange version 2)', () => {
  test("the shared key and the box are libsodium's, byte for byte", () => {
    const key = xchachaBeforenm(RESOLVER_PK, CLIENT_SK);
    expect(Buffer.from(key).toString('hex')).toBe(KEY);
    expect(xchachaSeal(MESSAGE, NONCE, key).toString('hex')).toBe(BOX);
    expect(xchachaOpen(Buffer.from(BOX, 'hex'), NONCE, key)).toEqual(MESSAGE);
  });

  test('a message of whole 16-byte blocks (no partial Poly1305 block) seals as libsodium does', () => {
    const key = Buffer.from(KEY, 'hex');
    const box =
      '75b42ccadb0bad5a92e701ccaef4e0ac35a8b4158fc3d5801885dd91e6205c4c888c39f706b257bb23133190d997f41ebcf4e33aed5682189d556929a3c38c91' +
      '9290031a9db3ca3622bc717ba47845ab';
    const message = Uint8Array.from({ length: 64 }, (_, i) => i);
    expect(xchachaSeal(message, NONCE, key).toString('hex')).toBe(box);
    expect(xchachaOpen(Buffer.from(box, 'hex'), NONCE, key)).toEqual(Buffer.from(message));
  });

  test('a changed byte anywhere, or another nonce, and the box does not open', () => {
    const key = xchachaBeforenm(RESOLVER_PK, CLIENT_SK);
    for (const at of [0, 15, 16, 50, 115]) {
      const box = Buffer.from(BOX, 'hex');
      box[at] = box[at]! ^ 0x01;
      expect(xchachaOpen(box, NONCE, key)).toBeUndefined();
    }
    const other = Uint8Array.from(NONCE);
    other[23] = 0;
    expect(xchachaOpen(Buffer.from(BOX, 'hex'), other, key)).toBeUndefined();
    expect(xchachaOpen(Buffer.alloc(10), NONCE, key)).toBeUndefined();
  });
});
