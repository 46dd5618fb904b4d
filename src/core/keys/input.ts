// Validation of key-related input shared by every interface: names, labels, algorithms, and the
// "what to sign" body. Shapes are also described to clients by the HTTP schemas; these checks are
// the ones the core relies on, whichever interface the request came through.
import { Algorithms, type Algorithm, type SignRequest } from '../../enclave/enclave.js';
import { invalid, KeymeshError } from '../../errors.js';
import { formatPath, parsePath } from '../../hd/path.js';
import { parseHex } from '../../util/bytes.js';

export const MAX_MESSAGE_BYTES = 256 * 1024;
const NAME_RE = /^[\p{L}\p{N}][\p{L}\p{N} ._:@/+-]{0,127}$/u;
const LABEL_KEY_RE = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/;

export function parseName(name: unknown): string {
  if (typeof name !== 'string' || !NAME_RE.test(name))
    throw invalid(
      'name must be 1 to 128 letters, digits, spaces or ._:@/+- and start with a letter or digit',
    );
  return name;
}

export function parseAlgorithm(alg: unknown): Algorithm {
  if (typeof alg !== 'string' || !Algorithms.includes(alg as Algorithm))
    throw invalid(`algorithm must be one of ${Algorithms.join(', ')}`);
  return alg as Algorithm;
}

export function parseLabels(labels: unknown): Record<string, string> {
  if (labels === undefined) return {};
  if (labels === null || typeof labels !== 'object' || Array.isArray(labels))
    throw invalid('labels must be an object');
  const entries = Object.entries(labels as Record<string, unknown>);
  if (entries.length > 32) throw invalid('labels may hold at most 32 entries');
  const out: Record<string, string> = {};
  for (const [k, v] of entries) {
    if (!LABEL_KEY_RE.test(k)) throw invalid('label keys must be 1 to 63 characters of A-Z a-z 0-9 ._/-');
    if (typeof v !== 'string' || v.length > 256)
      throw invalid('label values must be strings of at most 256 characters');
    out[k] = v;
  }
  return out;
}

export interface SignInput {
  digest?: unknown;
  message?: unknown;
  /** HD roots: the BIP32 path of the child that signs (or whose key verifies). */
  path?: unknown;
}

/**
 * The canonical HD path (`'` for hardened) a request names. An HD root needs one (signing with the
 * master key itself is asked for by name, "m"); a single key takes none. Both refusals are 400,
 * before anything is audited as allowed or asked of the enclave.
 */
export function parseKeyPath(record: { hd?: boolean }, path: unknown): string | undefined {
  const given = path !== undefined && path !== null;
  if (record.hd && !given)
    throw invalid(
      "this key is an HD root: give the path of the key to use, e.g. m/44'/60'/0'/0/0 (m for the master key)",
    );
  if (!record.hd && given) throw invalid('path is for HD keys; this key is a single private key');
  return given ? formatPath(parsePath(path, 'path')) : undefined;
}

/** Exactly one of digest (32 bytes, ECDSA only) or message. */
export function parseSignInput(algorithm: Algorithm, input: SignInput): SignRequest {
  const hasDigest = input.digest !== undefined;
  const hasMessage = input.message !== undefined;
  if (hasDigest === hasMessage) throw invalid('give exactly one of digest or message');
  if (hasDigest) {
    if (algorithm === 'ed25519')
      throw new KeymeshError('UNSUPPORTED', 'Ed25519 signs messages, not digests; send message instead.');
    return { digest: parseHex('digest', input.digest, { len: 32 }) };
  }
  return { message: parseHex('message', input.message, { max: MAX_MESSAGE_BYTES }) };
}
