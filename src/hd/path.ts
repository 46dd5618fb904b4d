// BIP32 derivation paths (BIP32 "The key tree", BIP44 notation): `m/44'/60'/0'/0/0`.
//
// A path arrives from callers (query strings, JSON bodies, PSBT derivation records), so it is parsed
// strictly: `m` first, `/`-separated decimal indices without sign, spaces or leading zeros, each
// below 2^31, optionally marked hardened with `'`, `h` or `H`. No empty segment, no trailing slash,
// depth at most MAX_PATH_DEPTH. BIP32 allows depth 255; real wallets use 3 to 6 levels, so a lower
// cap bounds the work one request can cause (each level is an HMAC-SHA512 and, for secp256k1, a
// point multiplication) without refusing anything a wallet produces.
import { invalid } from '../errors.js';

/** BIP32: indices at or above 2^31 are hardened. */
export const HARDENED_OFFSET = 0x80000000;
/** Deepest path accepted (BIP32 itself allows 255). */
export const MAX_PATH_DEPTH = 32;
/** "m" plus MAX_PATH_DEPTH segments of "/2147483647'" fits comfortably. */
export const MAX_PATH_LENGTH = 1 + MAX_PATH_DEPTH * 12;

// One segment: a canonical decimal (no leading zeros) then an optional hardened marker.
const SEGMENT_RE = /^(0|[1-9][0-9]{0,9})(['hH]?)$/;

/**
 * Parse a path string into BIP32 child indices (hardened ones have HARDENED_OFFSET added).
 * `m` alone is the master key (empty array). Malformed input → INVALID_REQUEST naming `field`.
 */
export function parsePath(value: unknown, field = 'path'): number[] {
  if (typeof value !== 'string') throw invalid(`${field} must be a string such as m/44'/60'/0'/0/0`);
  if (value.length > MAX_PATH_LENGTH) throw invalid(`${field} is longer than ${MAX_PATH_LENGTH} characters`);
  if (value === 'm') return [];
  if (!value.startsWith('m/')) throw invalid(`${field} must start with m/ (for example m/44'/60'/0'/0/0)`);
  const segments = value.slice(2).split('/');
  if (segments.length > MAX_PATH_DEPTH) throw invalid(`${field} is deeper than ${MAX_PATH_DEPTH} levels`);
  const out: number[] = [];
  for (const [i, seg] of segments.entries()) {
    const m = SEGMENT_RE.exec(seg);
    if (!m) {
      throw invalid(
        seg === ''
          ? `${field} has an empty segment at level ${i + 1}`
          : `${field} segment ${i + 1} must be a decimal index, optionally followed by ' or h for hardened`,
      );
    }
    const index = Number(m[1]);
    if (index >= HARDENED_OFFSET) throw invalid(`${field} segment ${i + 1} must be below 2^31 (2147483648)`);
    out.push(m[2] === '' ? index : index + HARDENED_OFFSET);
  }
  return out;
}

/**
 * Validate an index list (as found in PSBT bip32Derivation records) and bound its depth. Indices
 * are integers in [0, 2^32).
 */
export function checkIndices(indices: readonly number[], field = 'path'): number[] {
  if (!Array.isArray(indices)) throw invalid(`${field} must be a list of BIP32 indices`);
  if (indices.length > MAX_PATH_DEPTH) throw invalid(`${field} is deeper than ${MAX_PATH_DEPTH} levels`);
  for (const i of indices) {
    if (!Number.isSafeInteger(i) || i < 0 || i > 0xffffffff)
      throw invalid(`${field} has an index out of range`);
  }
  return [...indices];
}

/** The canonical string form, with `'` for hardened steps: [2147483692, 0] → "m/44'/0". */
export function formatPath(indices: readonly number[]): string {
  checkIndices(indices);
  let s = 'm';
  for (const i of indices) s += i >= HARDENED_OFFSET ? `/${i - HARDENED_OFFSET}'` : `/${i}`;
  return s;
}

/** Whether every step is hardened (SLIP-10 Ed25519 can only derive those). */
export function isFullyHardened(indices: readonly number[]): boolean {
  return indices.every((i) => i >= HARDENED_OFFSET);
}
