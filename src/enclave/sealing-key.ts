// Where the node's sealing key comes from (DESIGN.md "Trust boundaries"; API.md "--dev"). Runs
// inside each enclave worker, never on the main thread.
//
// - dev: `DIR/dev-sealing.key`, 32 random bytes, mode 0600. Created on first start; refused if it
//   is not a regular file owned by this user, is readable by group or others, or has the wrong
//   size (a truncated key file would otherwise seal keys under a weak key).
// - passphrase: Argon2id (RFC 9106) over the unseal passphrase with a random 16-byte salt. Salt,
//   parameters and a check value (AES-256-GCM of a constant under the derived key) live in
//   `DIR/seal.json`, written on first start. A wrong passphrase fails the check at start, with
//   "wrong unseal passphrase" and nothing more.
//   Parameters m = 64 MiB, t = 3, p = 1 (RFC 9106 §4's second recommended option uses 64 MiB);
//   @noble/hashes derives them in 1.2 s on this host (AMD EPYC, Node 20), under the ~3 s budget
//   for an unseal. seal.json can only raise cost within sane bounds, never lower it below 8 MiB.
//
// Both files are created atomically: written under a temporary name, fsynced, then hard-linked
// into place (link fails if the name exists, so concurrent first starts agree on one file), and
// the directory fsynced. Losing the sealing key loses every key sealed under it.
import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { getRandomValues, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { argon2id } from '@noble/hashes/argon2.js';
import { KeymeshError } from '../errors.js';
import { aesGcmDecrypt, aesGcmEncrypt, NONCE_BYTES, SEALING_KEY_BYTES } from './crypto/seal.js';
import { concatBytes, equalBytes, lengthPrefixed, u32be } from './crypto/bytes.js';

export const DEV_KEY_FILE = 'dev-sealing.key';
export const SEAL_CONFIG_FILE = 'seal.json';

/** Argon2id cost: `m` in KiB, `t` passes, `p` lanes. */
export interface Argon2Params {
  m: number;
  t: number;
  p: number;
}
export const DEFAULT_ARGON2: Readonly<Argon2Params> = { m: 64 * 1024, t: 3, p: 1 };
// Floors keep a tampered seal.json from making the passphrase cheap to guess offline; ceilings keep
// it from exhausting memory or time at start.
const BOUNDS = { m: [8 * 1024, 2 * 1024 * 1024], t: [1, 16], p: [1, 16] } as const;
const SALT_BYTES = 16;
const CHECK_PLAINTEXT = new TextEncoder().encode('keymesh unseal check v1');
const CHECK_DOMAIN = new TextEncoder().encode('keymesh/seal-check/v1');

export interface SealingKeySource {
  dataDir: string;
  dev: boolean;
  /** The passphrase bytes; this module does not wipe them (the caller owns them). */
  passphrase?: Uint8Array;
  /** Argon2id cost used only when seal.json is first written. */
  argon2?: Argon2Params;
}

const failure = (msg: string) => new KeymeshError('ENCLAVE_FAILURE', msg);

export function loadSealingKey(src: SealingKeySource): Uint8Array {
  if (typeof src.dataDir !== 'string' || src.dataDir === '')
    throw new KeymeshError('INVALID_REQUEST', 'dataDir is required');
  // A data directory is sealed one way for life: starting it the other way would create a second
  // sealing key beside the first, under which none of the existing blobs open.
  const other = join(src.dataDir, src.dev ? SEAL_CONFIG_FILE : DEV_KEY_FILE);
  if (exists(other))
    throw failure(
      src.dev
        ? `${src.dataDir} is sealed with an unseal passphrase (${SEAL_CONFIG_FILE}); start it without --dev`
        : `${src.dataDir} is a --dev data directory (${DEV_KEY_FILE}); start it with --dev`,
    );
  if (src.dev) {
    if (src.passphrase !== undefined)
      throw new KeymeshError(
        'INVALID_REQUEST',
        'a dev node uses its key file; do not pass an unseal passphrase',
      );
    return loadDevSealingKey(src.dataDir);
  }
  if (!(src.passphrase instanceof Uint8Array) || src.passphrase.length === 0)
    throw failure('an unseal passphrase is required to start without --dev');
  return loadPassphraseSealingKey(src.dataDir, src.passphrase, src.argon2);
}

// ---- files -----------------------------------------------------------------------------------

/** Write `data` to `path` only if nothing is there yet; true if this call created it. */
function createExclusive(path: string, data: Uint8Array, mode: number): boolean {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx', mode);
  try {
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  let created = true;
  try {
    linkSync(tmp, path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    created = false;
  } finally {
    unlinkSync(tmp);
  }
  const dir = openSync(join(path, '..'), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
  return created;
}

/** Open without following symlinks and check the file is ours and private. Returns its fd. */
function openPrivateFile(path: string, what: string): number {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw failure(`${what} ${path} is a symbolic link; refusing to use it`);
    throw e;
  }
  const st = fstatSync(fd);
  const problem = !st.isFile()
    ? 'is not a regular file'
    : (st.mode & 0o077) !== 0
      ? 'is readable or writable by group or others; it must be mode 0600'
      : typeof process.getuid === 'function' && st.uid !== process.getuid()
        ? 'is owned by another user'
        : undefined;
  if (problem) {
    closeSync(fd);
    throw failure(`${what} ${path} ${problem}`);
  }
  return fd;
}

function exists(path: string): boolean {
  try {
    closeSync(openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW));
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return false;
    return true; // it exists but cannot be opened as we like: let the real open report why
  }
}

// ---- dev key file ----------------------------------------------------------------------------

export function loadDevSealingKey(dataDir: string): Uint8Array {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, DEV_KEY_FILE);
  if (!exists(path)) {
    const fresh = getRandomValues(new Uint8Array(SEALING_KEY_BYTES));
    try {
      createExclusive(path, fresh, 0o600);
    } finally {
      fresh.fill(0);
    }
  }
  const fd = openPrivateFile(path, 'dev sealing key');
  try {
    if (fstatSync(fd).size !== SEALING_KEY_BYTES)
      throw failure(`dev sealing key ${path} must be exactly ${SEALING_KEY_BYTES} bytes`);
    const key = new Uint8Array(SEALING_KEY_BYTES);
    let off = 0;
    while (off < key.length) {
      const n = readSync(fd, key, off, key.length - off, off);
      if (n === 0) break;
      off += n;
    }
    if (off !== key.length) {
      key.fill(0);
      throw failure(`dev sealing key ${path} could not be read in full`);
    }
    return key;
  } finally {
    closeSync(fd);
  }
}

// ---- passphrase ------------------------------------------------------------------------------

interface SealConfig {
  format: 'keymesh-seal';
  version: 1;
  kdf: 'argon2id';
  m: number;
  t: number;
  p: number;
  salt: string; // base64
  check: string; // base64: nonce ‖ ciphertext ‖ tag
}

function checkParams(p: Argon2Params): Argon2Params {
  for (const k of ['m', 't', 'p'] as const) {
    const v = p[k];
    const [lo, hi] = BOUNDS[k];
    if (!Number.isInteger(v) || v < lo || v > hi)
      throw failure(`Argon2id parameter ${k} must be from ${lo} to ${hi}`);
  }
  if (p.m < 8 * p.p) throw failure('Argon2id parameter m must be at least 8 * p');
  return p;
}

function checkAad(salt: Uint8Array, p: Argon2Params): Uint8Array {
  return concatBytes(lengthPrefixed(CHECK_DOMAIN), lengthPrefixed(salt), u32be(p.m), u32be(p.t), u32be(p.p));
}

/** Argon2id(passphrase, salt) → 32-byte key. Exported for the benchmark and tests. */
export function deriveSealingKey(passphrase: Uint8Array, salt: Uint8Array, p: Argon2Params): Uint8Array {
  // noble caps its working memory at 1 GiB unless told otherwise; BOUNDS keep m at most 2 GiB.
  const maxmem = p.m * 1024 + 16 * 1024 * 1024;
  return argon2id(passphrase, salt, { m: p.m, t: p.t, p: p.p, dkLen: SEALING_KEY_BYTES, maxmem });
}

function parseConfig(
  text: string,
  path: string,
): { salt: Uint8Array; params: Argon2Params; check: Uint8Array } {
  const bad = () => failure(`${path} is not a valid seal configuration`);
  let c: Partial<SealConfig>;
  try {
    c = JSON.parse(text) as Partial<SealConfig>;
  } catch {
    throw bad();
  }
  if (
    c === null ||
    typeof c !== 'object' ||
    c.format !== 'keymesh-seal' ||
    c.version !== 1 ||
    c.kdf !== 'argon2id'
  )
    throw bad();
  if (typeof c.salt !== 'string' || typeof c.check !== 'string') throw bad();
  const salt = new Uint8Array(Buffer.from(c.salt, 'base64'));
  const check = new Uint8Array(Buffer.from(c.check, 'base64'));
  if (salt.length !== SALT_BYTES || check.length !== NONCE_BYTES + CHECK_PLAINTEXT.length + 16) throw bad();
  const params = checkParams({ m: c.m as number, t: c.t as number, p: c.p as number });
  return { salt, params, check };
}

export function loadPassphraseSealingKey(
  dataDir: string,
  passphrase: Uint8Array,
  init?: Argon2Params,
): Uint8Array {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, SEAL_CONFIG_FILE);
  if (!exists(path)) {
    const params = checkParams({ ...(init ?? DEFAULT_ARGON2) });
    const salt = getRandomValues(new Uint8Array(SALT_BYTES));
    const key = deriveSealingKey(passphrase, salt, params);
    const nonce = getRandomValues(new Uint8Array(NONCE_BYTES));
    const { ciphertext, tag } = aesGcmEncrypt(key, nonce, CHECK_PLAINTEXT, checkAad(salt, params));
    const config: SealConfig = {
      format: 'keymesh-seal',
      version: 1,
      kdf: 'argon2id',
      ...params,
      salt: Buffer.from(salt).toString('base64'),
      check: Buffer.from(concatBytes(nonce, ciphertext, tag)).toString('base64'),
    };
    if (createExclusive(path, new TextEncoder().encode(JSON.stringify(config, null, 2) + '\n'), 0o600))
      return key;
    key.fill(0); // another worker initialised it first: use theirs
  }
  const fd = openPrivateFile(path, 'seal configuration');
  let text: string;
  try {
    text = readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
  const { salt, params, check } = parseConfig(text, path);
  const key = deriveSealingKey(passphrase, salt, params);
  const nonce = check.subarray(0, NONCE_BYTES);
  const tag = check.subarray(check.length - 16);
  const opened = aesGcmDecrypt(
    key,
    nonce,
    check.subarray(NONCE_BYTES, check.length - 16),
    tag,
    checkAad(salt, params),
  );
  if (!opened || !equalBytes(opened, CHECK_PLAINTEXT)) {
    key.fill(0);
    throw failure('wrong unseal passphrase');
  }
  return key;
}
