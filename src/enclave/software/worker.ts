// One software-enclave worker thread (DESIGN.md "Trust boundaries": the network-facing thread
// never holds key bytes). It loads the sealing key itself (from the dev key file, or by running
// Argon2id over the passphrase the pool hands it; a replacement worker instead receives a copy
// from a live sibling over a private MessagePort), then serves calls: seal new keys, unseal and
// sign with the fault check, verify.
//
// Unsealed signers are cached per worker, keyed by key id + version and bound to the exact
// sealed blob, LRU-bounded (1024) and wiped after 5 idle minutes or on `evict` (key destroyed or
// compromised). Per-request unsealing was measured against it through the pool (bench/
// primitives.ts poolRate, 2 workers, 32 in flight, this 2-vCPU host otherwise idle), signatures/s:
//
//                        cache on   cache off
//   secp256k1 ECDSA        13,200       8,100   (unseal + deriving the public key each time)
//   secp256k1 BIP86         3,330       2,230   (+ the taproot tweak each time)
//   secp256k1 BIP340        3,540       2,670
//   P-256 ECDSA (digest)      490         466
//   Ed25519                 9,290       1,940   (OpenSSL's PKCS#8 import is 435 µs)
//
// so the cache stays on. The trade: an unsealed key stays in worker memory between requests (up
// to the idle limit) rather than for one request; the worker is the enclave boundary either way.
import { parentPort, type MessagePort } from 'node:worker_threads';
import { KeymeshError } from '../../errors.js';
import type { NewKey, SealedKeyRef, SignRequest, SignResult } from '../enclave.js';
import { equalBytes, ownedCopy } from '../crypto/bytes.js';
import { SealKind, seal, unsealRawKey, type SealBinding } from '../crypto/seal.js';
import { generateSecret, importSigner, validateSecret, type Signer } from '../crypto/signers.js';
import { verifySignature } from '../crypto/verify.js';
import { Lru } from '../lru.js';
import { loadSealingKey } from '../sealing-key.js';
import type { CacheOptions, Call, FromWorker, ToWorker, WorkerStats } from './protocol.js';

if (!parentPort) throw new Error('enclave worker must run in a worker thread');
const port = parentPort;

interface Cached {
  algorithm: string;
  sealed: Uint8Array;
  signer: Signer;
}

let sealingKey: Uint8Array | undefined;
let cache: Lru<string, Cached> | undefined; // undefined when caching is off
let sweeper: NodeJS.Timeout | undefined;
const stats: WorkerStats = { cached: 0, hits: 0, misses: 0, signed: 0 };

function send(msg: FromWorker): void {
  port.postMessage(msg);
}

function errorFields(e: unknown): { code: string; message: string } {
  if (e instanceof KeymeshError) return { code: e.code, message: e.shortMessage };
  // Anything else is a bug or a library failure; its text could name internals, so none crosses.
  return { code: 'ENCLAVE_FAILURE', message: 'the enclave failed to complete the operation' };
}

function startCache(opts: CacheOptions): void {
  if (opts.max <= 0) return;
  cache = new Lru<string, Cached>({
    max: opts.max,
    idleMs: opts.idleMs,
    onRemove: (c) => c.signer.zero(),
  });
  if (Number.isFinite(opts.idleMs)) {
    sweeper = setInterval(() => cache?.sweep(), Math.max(1000, Math.min(opts.idleMs, 60_000)));
    sweeper.unref();
  }
}

const cacheKey = (keyId: string, version: number) => `${version}\u0000${keyId}`;

// ---- operations ------------------------------------------------------------------------------

function key(): Uint8Array {
  if (!sealingKey) throw new KeymeshError('ENCLAVE_FAILURE', 'the enclave is not unsealed');
  return sealingKey;
}

/** Seal a validated secret and prove the blob opens to the same bytes before anyone relies on it. */
function sealNew(binding: SealBinding, secret: Uint8Array): NewKey {
  const signer = importSigner(binding.algorithm, secret);
  try {
    // Pairwise consistency test: the new key signs and its signature verifies (the fault check).
    signer.sign(
      binding.algorithm === 'ed25519'
        ? { message: new Uint8Array(32) }
        : { digest: new Uint8Array(32).fill(1) },
    );
    const sealed = seal(key(), binding, SealKind.rawKey, secret);
    const back = unsealRawKey(key(), binding, sealed);
    const same = equalBytes(back, secret);
    back.fill(0);
    if (!same) throw new KeymeshError('ENCLAVE_FAILURE', 'sealing check failed');
    const publicKey = signer.publicKey;
    // A new key is usually used soon after it is made: keep it ready.
    if (cache)
      cache.set(cacheKey(binding.keyId, binding.version), {
        algorithm: binding.algorithm,
        sealed: ownedCopy(sealed),
        signer,
      });
    else signer.zero();
    return { publicKey, sealed };
  } catch (e) {
    signer.zero();
    throw e;
  }
}

function generate(args: { keyId: string; version: number; algorithm: SealBinding['algorithm'] }): NewKey {
  const secret = generateSecret(args.algorithm);
  try {
    return sealNew({ keyId: args.keyId, version: args.version, algorithm: args.algorithm }, secret);
  } finally {
    secret.fill(0);
  }
}

function importKey(args: {
  keyId: string;
  version: number;
  algorithm: SealBinding['algorithm'];
  privateKey: Uint8Array;
}): NewKey {
  const secret = args.privateKey;
  try {
    validateSecret(args.algorithm, secret);
    return sealNew({ keyId: args.keyId, version: args.version, algorithm: args.algorithm }, secret);
  } finally {
    if (secret instanceof Uint8Array) secret.fill(0);
  }
}

function signerFor(ref: SealedKeyRef): { signer: Signer; cached: boolean } {
  if (
    ref === null ||
    typeof ref !== 'object' ||
    typeof ref.keyId !== 'string' ||
    !Number.isSafeInteger(ref.version) ||
    typeof ref.algorithm !== 'string' ||
    !(ref.sealed instanceof Uint8Array)
  )
    throw new KeymeshError('INVALID_REQUEST', 'a sealed key reference is required');
  const k = cacheKey(ref.keyId, ref.version);
  const hit = cache?.get(k);
  if (hit && hit.algorithm === ref.algorithm && equalBytes(hit.sealed, ref.sealed)) {
    stats.hits++;
    return { signer: hit.signer, cached: true };
  }
  stats.misses++;
  const secret = unsealRawKey(key(), ref, ref.sealed);
  let signer: Signer;
  try {
    signer = importSigner(ref.algorithm, secret);
  } catch {
    // The blob authenticated, so this is not the caller's input: something is badly wrong.
    throw new KeymeshError('ENCLAVE_FAILURE', 'the sealed key is not usable');
  } finally {
    secret.fill(0);
  }
  if (!cache) return { signer, cached: false };
  cache.set(k, { algorithm: ref.algorithm, sealed: ownedCopy(ref.sealed), signer });
  return { signer, cached: true };
}

function sign(args: { key: SealedKeyRef; req: SignRequest }): SignResult {
  const { signer, cached } = signerFor(args.key);
  try {
    const res = signer.sign(args.req);
    stats.signed++;
    return res;
  } finally {
    if (!cached) signer.zero();
  }
}

function evict(args: { keyId: string; version?: number }): number {
  if (!cache) return 0;
  if (args.version !== undefined) return cache.delete(cacheKey(args.keyId, args.version)) ? 1 : 0;
  return cache.deleteWhere((k) => k.slice(k.indexOf('\u0000') + 1) === args.keyId);
}

function run(call: Call): unknown {
  switch (call.op) {
    case 'generate':
      return generate(call.args);
    case 'import':
      return importKey(call.args);
    case 'sign':
      return sign(call.args);
    case 'verify':
      return verifySignature(call.args.req);
    case 'evict':
      return evict(call.args);
    case 'stats':
      return { ...stats, cached: cache?.size ?? 0 };
    default:
      throw new KeymeshError('INVALID_REQUEST', 'unknown enclave operation');
  }
}

// ---- lifecycle -------------------------------------------------------------------------------

function shutdown(): void {
  if (sweeper) clearInterval(sweeper);
  cache?.clear();
  sealingKey?.fill(0);
  sealingKey = undefined;
  port.close();
}

port.on('message', (msg: ToWorker) => {
  switch (msg.t) {
    case 'call': {
      try {
        send({ t: 'result', id: msg.id, ok: true, value: run(msg) });
      } catch (e) {
        send({ t: 'result', id: msg.id, ok: false, ...errorFields(e) });
      }
      return;
    }
    case 'init': {
      const { source } = msg;
      try {
        startCache(msg.cache);
        sealingKey = loadSealingKey(source);
        send({ t: 'ready' });
      } catch (e) {
        send({ t: 'init-failed', ...errorFields(e) });
      } finally {
        source.passphrase?.fill(0);
      }
      return;
    }
    case 'adopt': {
      startCache(msg.cache);
      const from: MessagePort = msg.port;
      from.once('message', (k: unknown) => {
        from.close();
        if (k instanceof Uint8Array && k.length === 32) {
          sealingKey = k;
          send({ t: 'ready' });
        } else {
          send({ t: 'init-failed', code: 'ENCLAVE_FAILURE', message: 'no sealing key was handed over' });
        }
      });
      return;
    }
    case 'share': {
      const to: MessagePort = msg.port;
      const copy = sealingKey ? ownedCopy(sealingKey) : undefined;
      // Transferring the copy's buffer leaves nothing behind in this thread.
      to.postMessage(copy ?? null, copy ? [copy.buffer as ArrayBuffer] : []);
      to.close();
      return;
    }
    case 'close':
      shutdown();
      return;
  }
});
