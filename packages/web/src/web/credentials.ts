/**
 * The webserver's password and API key (dnsdist's CredentialsHolder): kept
 * either as given, or as a scrypt hash in dnsdist's format
 *
 *     $scrypt$ln=10,p=1,r=8$<base64 salt>$<base64 hash>
 *
 * (ln = log2 of the work factor N; 16-byte salt, 32-byte hash), which
 * `hashPassword()` produces and which dnsdist 1.7.3's own hashes verify
 * against. Verification of a hash runs scrypt on libuv's thread pool, so a
 * login never stalls the event loop that carries DNS traffic.
 */
import { createHash, randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';

const PREFIX = '$scrypt$';
const SALT_BYTES = 16;
const HASH_BYTES = 32;
/** scrypt's block size and parallelism, as dnsdist uses them. */
export const SCRYPT_BLOCK_SIZE = 8;
export const SCRYPT_PARALLEL_FACTOR = 1;
export const DEFAULT_WORK_FACTOR = 1024;
/** Largest work factor accepted: 2^20 already needs 1 GiB of memory per verification. */
export const MAX_WORK_FACTOR = 2 ** 20;

/** A work factor scrypt cannot use (not a power of two above 1, or too large). */
export class HashPasswordError extends Error {
  readonly input: number;
  constructor(workFactor: number) {
    super(
      `Error setting the work factor to the scrypt context to hash the supplied password: ${workFactor} is not a power of two between 2 and ${MAX_WORK_FACTOR}`,
    );
    this.name = new.target.name;
    this.input = workFactor;
  }
}

/** The parts of a hashed password. */
export interface ScryptParameters {
  readonly workFactor: number;
  readonly parallelFactor: number;
  readonly blockSize: number;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 1 && (n & (n - 1)) === 0;
}

/** Memory scrypt needs for these parameters, with headroom (Node refuses above `maxmem`). */
function maxmemFor(n: number, r: number, p: number): number {
  return 128 * n * r * (p + 2) + 1024 * 1024;
}

/**
 * `hashPassword(password [, workFactor])`: a new random salt, scrypt with
 * N = workFactor, r = 8, p = 1, in dnsdist's string format.
 *
 * @throws HashPasswordError when the work factor is not a power of two in 2..2^20.
 */
export function hashPassword(password: string, workFactor: number = DEFAULT_WORK_FACTOR): string {
  if (!isPowerOfTwo(workFactor) || workFactor > MAX_WORK_FACTOR) throw new HashPasswordError(workFactor);
  const salt = randomBytes(SALT_BYTES);
  const hash = scryptSync(password, salt, HASH_BYTES, {
    N: workFactor,
    r: SCRYPT_BLOCK_SIZE,
    p: SCRYPT_PARALLEL_FACTOR,
    maxmem: maxmemFor(workFactor, SCRYPT_BLOCK_SIZE, SCRYPT_PARALLEL_FACTOR),
  });
  const ln = Math.log2(workFactor);
  return `${PREFIX}ln=${ln},p=${SCRYPT_PARALLEL_FACTOR},r=${SCRYPT_BLOCK_SIZE}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Parse dnsdist's hashed form; undefined when `text` is not one (dnsdist
 * then takes the text as a plain-text credential, and so do we).
 */
export function parseHashedPassword(text: string): ScryptParameters | undefined {
  if (!text.startsWith(PREFIX)) return undefined;
  const parts = text.slice(PREFIX.length).split('$');
  if (parts.length !== 3) return undefined;
  const [params, saltText, hashText] = parts as [string, string, string];
  const values = new Map<string, number>();
  for (const kv of params.split(',')) {
    const m = /^(ln|p|r)=([0-9]{1,3})$/.exec(kv);
    if (!m || values.has(m[1]!)) return undefined;
    values.set(m[1]!, Number(m[2]));
  }
  const ln = values.get('ln');
  const p = values.get('p');
  const r = values.get('r');
  if (ln === undefined || p === undefined || r === undefined || ln < 1 || 2 ** ln > MAX_WORK_FACTOR || p < 1 || r < 1) return undefined;
  if (!BASE64.test(saltText) || !BASE64.test(hashText)) return undefined;
  const salt = Buffer.from(saltText, 'base64');
  const hash = Buffer.from(hashText, 'base64');
  if (salt.length === 0 || hash.length === 0) return undefined;
  return { workFactor: 2 ** ln, parallelFactor: p, blockSize: r, salt, hash };
}

/** Constant-time comparison of two strings of any lengths. */
function sameText(a: string, b: string): boolean {
  // Hashing first gives equal lengths, so the comparison time says nothing about either text.
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

export class CredentialsHolder {
  /** The credential was given already hashed. */
  readonly wasHashed: boolean;
  readonly #plain: string | undefined;
  readonly #params: ScryptParameters | undefined;

  private constructor(plain: string | undefined, params: ScryptParameters | undefined, wasHashed: boolean) {
    this.#plain = plain;
    this.#params = params;
    this.wasHashed = wasHashed;
  }

  /**
   * From a configured value: a dnsdist-format hash is kept as such; other
   * text is plain text, hashed now when `hashPlaintext` is set
   * (`hashPlaintextCredentials`), so it does not stay in memory.
   */
  static fromConfig(text: string, hashPlaintext = false): CredentialsHolder {
    const params = parseHashedPassword(text);
    if (params) return new CredentialsHolder(undefined, params, true);
    if (hashPlaintext) return new CredentialsHolder(undefined, parseHashedPassword(hashPassword(text)), false);
    return new CredentialsHolder(text, undefined, false);
  }

  /** Kept hashed (given hashed, or hashed at configuration). */
  get isHashed(): boolean {
    return this.#params !== undefined;
  }

  /** Does `candidate` match? Hashes are checked with scrypt off the event loop. */
  matches(candidate: string): Promise<boolean> {
    const p = this.#params;
    if (!p) return Promise.resolve(sameText(candidate, this.#plain ?? ''));
    return new Promise((resolve) => {
      scrypt(
        candidate,
        p.salt,
        p.hash.length,
        { N: p.workFactor, r: p.blockSize, p: p.parallelFactor, maxmem: maxmemFor(p.workFactor, p.blockSize, p.parallelFactor) },
        (err, derived) => resolve(!err && timingSafeEqual(derived, p.hash)),
      );
    });
  }
}
