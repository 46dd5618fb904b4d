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
//
// HD roots (sealed kind 0x02, the BIP39 seed) are cached like single keys, as their seed, under
// `version\0keyId`; each child that signed is cached as its own signer under
// `version/path\0keyId` (the canonical path), bound to the same sealed blob and evicted with the
// key. A cached child signs at a single key's speed; an uncached one first costs the derivation
// (crypto/hd.ts, about 0.12 ms for m/44'/60'/0'/0/0) and, for Ed25519, OpenSSL's key import.
// Measured as above (2 workers, 32 in flight), secp256k1 ECDSA signatures/s: single key 11,800;
// HD child at one path 12,200; at a new path every time 4,300; derive at a new path 7,800.
import { parentPort, type MessagePort } from 'node:worker_threads';
import { invalid, KeymeshError } from '../../errors.js';
import { formatPath, parsePath } from '../../hd/path.js';
import type {
  DerivedKey,
  NewKey,
  SealedKeyRef,
  SignRequest,
  SignResult,
  WrappedReplica,
  WrapRequest,
} from '../enclave.js';
import { verifyAttestation } from '../crypto/attestation.js';
import { generateTransportKeyPair, transportPublicKey, unwrapAtNode, wrapToNode } from '../crypto/wrap.js';
import { equalBytes, ownedCopy } from '../crypto/bytes.js';
import {
  checkHdAlgorithm,
  deriveHdNode,
  generateBip39Seed,
  HD_SEED_MAX,
  HD_SEED_MIN,
  hdFingerprint,
  hdPublicKey,
  isHdAlgorithm,
  seedFromMnemonic,
  wipeHdNode,
  type HdAlgorithm,
  type HdNode,
} from '../crypto/hd.js';
import { SealKind, seal, unseal, unsealRawKey, type SealBinding } from '../crypto/seal.js';
import { generateSecret, importSigner, validateSecret, type Signer } from '../crypto/signers.js';
import { verifySignature } from '../crypto/verify.js';
import { Lru } from '../lru.js';
import { loadSealingKey } from '../sealing-key.js';
import type { CacheOptions, Call, ClusterContext, FromWorker, ToWorker, WorkerStats } from './protocol.js';

if (!parentPort) throw new Error('enclave worker must run in a worker thread');
const port = parentPort;

/** What one cache entry holds: a single key's or an HD child's signer, or an HD root's seed. */
interface Cached {
  algorithm: string;
  sealed: Uint8Array;
  /** The blob is a replica wrapped to this node, not sealed here (a hit must agree on which). */
  replica?: boolean;
  signer?: Signer;
  seed?: Uint8Array;
}

const wipeCached = (c: Cached) => {
  c.signer?.zero();
  c.seed?.fill(0);
};

let sealingKey: Uint8Array | undefined;
// Cluster mode: the context of the call being run (calls run one at a time on this thread), and
// the transport secret unsealed from the blob that came with it, kept while the blob is the same.
let clusterCtx: ClusterContext | undefined;
let transport: { sealed: Uint8Array; secret: Uint8Array } | undefined;
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
    onRemove: wipeCached,
  });
  if (Number.isFinite(opts.idleMs)) {
    sweeper = setInterval(() => cache?.sweep(), Math.max(1000, Math.min(opts.idleMs, 60_000)));
    sweeper.unref();
  }
}

// The key id is everything after the first NUL, for every entry (evict relies on it); the part
// before it is the version, and for an HD child also its canonical path (which has no NUL).
const cacheKey = (keyId: string, version: number) => `${version}\u0000${keyId}`;
const childKey = (keyId: string, version: number, path: string) => `${version}/${path}\u0000${keyId}`;
const keyIdOf = (k: string) => k.slice(k.indexOf('\u0000') + 1);
const versionOf = (k: string) => k.slice(0, k.indexOf('\u0000')).split('/')[0];

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

function generate(args: {
  keyId: string;
  version: number;
  algorithm: SealBinding['algorithm'];
  hd?: boolean;
  replicas?: WrapRequest;
}): NewKey {
  const binding = { keyId: args.keyId, version: args.version, algorithm: args.algorithm };
  if (args.hd !== undefined && typeof args.hd !== 'boolean') throw invalid('hd must be true or false');
  if (args.hd) {
    checkHdAlgorithm(args.algorithm);
    const seed = generateBip39Seed();
    try {
      return withReplicas(sealHdRoot(binding, seed), binding, SealKind.bip39Seed, seed, args.replicas);
    } finally {
      seed.fill(0);
    }
  }
  const secret = generateSecret(args.algorithm);
  try {
    return withReplicas(sealNew(binding, secret), binding, SealKind.rawKey, secret, args.replicas);
  } finally {
    secret.fill(0);
  }
}

function importKey(args: {
  keyId: string;
  version: number;
  algorithm: SealBinding['algorithm'];
  privateKey: Uint8Array;
  replicas?: WrapRequest;
}): NewKey {
  const secret = args.privateKey;
  try {
    validateSecret(args.algorithm, secret);
    const binding = { keyId: args.keyId, version: args.version, algorithm: args.algorithm };
    return withReplicas(sealNew(binding, secret), binding, SealKind.rawKey, secret, args.replicas);
  } finally {
    if (secret instanceof Uint8Array) secret.fill(0);
  }
}

/**
 * Seal an HD root's seed (kind 0x02) after the same checks as a single key: its master key signs
 * and verifies, and the blob opens to the same seed. The mnemonic is not kept: nothing needs it,
 * and what is not kept cannot leak.
 */
function sealHdRoot(binding: SealBinding, seed: Uint8Array): NewKey {
  const algorithm = binding.algorithm as HdAlgorithm;
  const master = deriveHdNode(algorithm, seed, []);
  let signer: Signer | undefined;
  try {
    signer = importSigner(algorithm, master.privateKey);
    signer.sign(
      algorithm === 'ed25519' ? { message: new Uint8Array(32) } : { digest: new Uint8Array(32).fill(1) },
    );
    const sealed = seal(key(), binding, SealKind.bip39Seed, seed);
    const back = unseal(key(), binding, sealed);
    const same = back.kind === SealKind.bip39Seed && equalBytes(back.body, seed);
    back.body.fill(0);
    if (!same) throw new KeymeshError('ENCLAVE_FAILURE', 'sealing check failed');
    const publicKey = signer.publicKey;
    if (cache)
      cache.set(cacheKey(binding.keyId, binding.version), {
        algorithm,
        sealed: ownedCopy(sealed),
        seed: ownedCopy(seed),
      });
    const hd: NonNullable<NewKey['hd']> = { fingerprint: hdFingerprint(algorithm, publicKey) };
    if (algorithm === 'secp256k1') hd.chainCode = ownedCopy(master.chainCode);
    return { publicKey, sealed, hd };
  } finally {
    signer?.zero();
    wipeHdNode(master);
  }
}

function importMnemonic(args: {
  keyId: string;
  version: number;
  algorithm: SealBinding['algorithm'];
  mnemonic: Uint8Array;
  passphrase?: Uint8Array;
  replicas?: WrapRequest;
}): NewKey {
  try {
    checkHdAlgorithm(args.algorithm);
    const seed = seedFromMnemonic(args.mnemonic, args.passphrase);
    try {
      const binding = { keyId: args.keyId, version: args.version, algorithm: args.algorithm };
      return withReplicas(sealHdRoot(binding, seed), binding, SealKind.bip39Seed, seed, args.replicas);
    } finally {
      seed.fill(0);
    }
  } finally {
    if (args.mnemonic instanceof Uint8Array) args.mnemonic.fill(0);
    if (args.passphrase instanceof Uint8Array) args.passphrase.fill(0);
  }
}

function checkRef(ref: SealedKeyRef): void {
  if (
    ref === null ||
    typeof ref !== 'object' ||
    typeof ref.keyId !== 'string' ||
    !Number.isSafeInteger(ref.version) ||
    typeof ref.algorithm !== 'string' ||
    !(ref.sealed instanceof Uint8Array)
  )
    throw new KeymeshError('INVALID_REQUEST', 'a sealed key reference is required');
}

/** A cache hit for `k` that belongs to exactly this sealed blob. */
function cachedFor(k: string, ref: SealedKeyRef): Cached | undefined {
  const hit = cache?.get(k);
  return hit &&
    hit.algorithm === ref.algorithm &&
    !!hit.replica === !!ref.replica &&
    equalBytes(hit.sealed, ref.sealed)
    ? hit
    : undefined;
}

/**
 * The unsealed material of a key: a signer (single key) or a seed (HD root). When `cached` is
 * false the caller wipes it (release) after use.
 */
function openKey(ref: SealedKeyRef): { entry: Cached; cached: boolean } {
  checkRef(ref);
  const k = cacheKey(ref.keyId, ref.version);
  const hit = cachedFor(k, ref);
  if (hit) {
    stats.hits++;
    return { entry: hit, cached: true };
  }
  stats.misses++;
  const { kind, body } = openMaterial(ref);
  let entry: Cached;
  try {
    if (kind === SealKind.rawKey && body.length === 32) {
      entry = { algorithm: ref.algorithm, sealed: ref.sealed, signer: importSigner(ref.algorithm, body) };
    } else if (
      kind === SealKind.bip39Seed &&
      isHdAlgorithm(ref.algorithm) &&
      body.length >= HD_SEED_MIN &&
      body.length <= HD_SEED_MAX
    ) {
      entry = { algorithm: ref.algorithm, sealed: ref.sealed, seed: ownedCopy(body) };
    } else {
      throw new Error('unknown sealed kind');
    }
  } catch {
    // The blob authenticated, so this is not the caller's input: something is badly wrong.
    throw new KeymeshError('ENCLAVE_FAILURE', 'the sealed key is not usable');
  } finally {
    body.fill(0);
  }
  if (ref.replica) entry.replica = true;
  if (!cache) return { entry, cached: false };
  entry.sealed = ownedCopy(ref.sealed);
  cache.set(k, entry);
  return { entry, cached: true };
}

function release(entry: Cached, cached: boolean): void {
  if (!cached) wipeCached(entry);
}

const hdRootNeedsPath = () =>
  invalid('this key is an HD root: give the path of the key that signs (m for the master key itself)');
const notHd = (what: string) => invalid(`${what} needs an HD key; this key is a single private key`);

/** The signer of the HD child at `path` (parsed strictly), from the cache or derived now. */
function childSigner(ref: SealedKeyRef, path: unknown): { signer: Signer; cached: boolean } {
  checkRef(ref);
  const indices = parsePath(path);
  const k = childKey(ref.keyId, ref.version, formatPath(indices));
  const hit = cachedFor(k, ref);
  if (hit?.signer) {
    stats.hits++;
    return { signer: hit.signer, cached: true };
  }
  const { entry, cached } = openKey(ref);
  let node: HdNode | undefined;
  try {
    if (!entry.seed) throw notHd('a derivation path');
    node = deriveHdNode(ref.algorithm as HdAlgorithm, entry.seed, indices);
    const signer = importSigner(ref.algorithm, node.privateKey);
    if (!cache) return { signer, cached: false };
    cache.set(k, {
      algorithm: ref.algorithm,
      sealed: ownedCopy(ref.sealed),
      ...(ref.replica ? { replica: true } : {}),
      signer,
    });
    return { signer, cached: true };
  } finally {
    if (node) wipeHdNode(node);
    release(entry, cached);
  }
}

function sign(args: { key: SealedKeyRef; req: SignRequest }): SignResult {
  const req = args.req;
  if (req === null || typeof req !== 'object') throw invalid('request must be an object');
  if (req.path === undefined) {
    const { entry, cached } = openKey(args.key);
    try {
      if (!entry.signer) throw hdRootNeedsPath();
      const res = entry.signer.sign(req);
      stats.signed++;
      return res;
    } finally {
      release(entry, cached);
    }
  }
  const { signer, cached } = childSigner(args.key, req.path);
  try {
    // The child is a single key: it signs the request without the path (and with its own
    // taproot tweak, BIP86 over the child's key).
    const { path: _path, ...rest } = req;
    const res = signer.sign(rest);
    stats.signed++;
    return res;
  } finally {
    if (!cached) signer.zero();
  }
}

/** The public key (and, for secp256k1, the extended-key fields) at `path` of an HD root. */
function derive(args: { key: SealedKeyRef; path: string }): DerivedKey {
  checkRef(args.key);
  const indices = parsePath(args.path);
  const algorithm = args.key.algorithm;
  if (algorithm === 'ed25519') {
    // A child that has signed already knows its public key (OpenSSL's import is the cost here).
    const hit = cachedFor(childKey(args.key.keyId, args.key.version, formatPath(indices)), args.key);
    if (hit?.signer) return { publicKey: hit.signer.publicKey };
  }
  const { entry, cached } = openKey(args.key);
  let node: HdNode | undefined;
  try {
    if (!entry.seed) throw notHd('derive');
    const alg = algorithm as HdAlgorithm;
    node = deriveHdNode(alg, entry.seed, indices);
    const publicKey = hdPublicKey(alg, node.privateKey);
    if (alg === 'ed25519') return { publicKey };
    return {
      publicKey,
      chainCode: ownedCopy(node.chainCode),
      depth: node.depth,
      index: node.index,
      parentFingerprint: ownedCopy(node.parentFingerprint!),
    };
  } finally {
    if (node) wipeHdNode(node);
    release(entry, cached);
  }
}

// ---- cluster: transport key, replicas ---------------------------------------------------------

/**
 * The transport secret is sealed like a key, under a binding no key record can have (key ids
 * never start with "@"), and with its own kind, so neither blob can stand in for the other. The
 * AD format names a signing algorithm; "ed25519" stands for its Montgomery twin X25519 here.
 */
const TRANSPORT_BINDING: SealBinding = { keyId: '@transport', version: 1, algorithm: 'ed25519' };
const TRANSPORT_KIND = 0x10;

function cluster(): ClusterContext {
  if (!clusterCtx) throw new KeymeshError('INVALID_REQUEST', 'replicas exist only in cluster mode');
  return clusterCtx;
}

function transportSecret(): Uint8Array {
  const c = cluster();
  if (transport && equalBytes(transport.sealed, c.transportSealed)) return transport.secret;
  const { kind, body } = unseal(key(), TRANSPORT_BINDING, c.transportSealed);
  if (kind !== TRANSPORT_KIND || body.length !== 32) {
    body.fill(0);
    throw new KeymeshError('ENCLAVE_FAILURE', 'the transport key is not usable');
  }
  transport?.secret.fill(0);
  transport = { sealed: ownedCopy(c.transportSealed), secret: body };
  return body;
}

/** Make (no `sealed`) or check (with it) the sealed transport key; returns its public half. */
function transportOp(args: { sealed?: Uint8Array }): { sealed: Uint8Array; publicKey: Uint8Array } {
  if (args.sealed !== undefined) {
    const { kind, body } = unseal(key(), TRANSPORT_BINDING, args.sealed);
    try {
      if (kind !== TRANSPORT_KIND || body.length !== 32)
        throw new KeymeshError('ENCLAVE_FAILURE', 'the transport key is not usable');
      return { sealed: args.sealed, publicKey: transportPublicKey(body) };
    } finally {
      body.fill(0);
    }
  }
  const pair = generateTransportKeyPair();
  try {
    return {
      sealed: seal(key(), TRANSPORT_BINDING, TRANSPORT_KIND, pair.privateKey),
      publicKey: pair.publicKey,
    };
  } finally {
    pair.privateKey.fill(0);
  }
}

/**
 * A key's material as sealed plaintext (kind and body): unsealed with the sealing key, or, for a
 * replica, unwrapped with the transport secret bound to this node's id. The caller wipes `body`.
 */
function openMaterial(ref: SealedKeyRef): { kind: number; body: Uint8Array } {
  if (!ref.replica) return unseal(key(), ref, ref.sealed);
  const c = cluster();
  const plain = unwrapAtNode(ref.sealed, transportSecret(), {
    keyId: ref.keyId,
    version: ref.version,
    algorithm: ref.algorithm,
    nodeId: c.nodeId,
  });
  try {
    if (plain.length < 2) throw new KeymeshError('ENCLAVE_FAILURE', 'the replica is not usable');
    return { kind: plain[0]!, body: plain.slice(1) };
  } finally {
    plain.fill(0);
  }
}

function checkWrapRequest(req: WrapRequest): void {
  if (
    req === null ||
    typeof req !== 'object' ||
    !Array.isArray(req.recipients) ||
    req.recipients.length === 0
  )
    throw invalid('replicas.recipients must be a non-empty list');
  if (req.recipients.length > 64) throw invalid('at most 64 replica recipients');
  const seen = new Set<string>();
  for (const r of req.recipients) {
    if (r === null || typeof r !== 'object' || typeof r.nodeId !== 'string')
      throw invalid('each replica recipient needs a nodeId and an attestation');
    if (seen.has(r.nodeId)) throw invalid('a replica recipient is named twice');
    seen.add(r.nodeId);
  }
}

/**
 * Wrap `kind ‖ body` to every recipient, after verifying each one's attestation against the cluster
 * CA (and its attested region and level against the constraint): all are checked before any is
 * wrapped, and one that fails refuses the whole call. The caller wipes `body`.
 */
function wrapAll(binding: SealBinding, kind: number, body: Uint8Array, req: WrapRequest): WrappedReplica[] {
  const c = cluster();
  checkWrapRequest(req);
  const targets = req.recipients.map((r) => {
    const st = verifyAttestation(r.attestation, c.ca, { nodeId: r.nodeId });
    const k = req.constraint;
    if (k?.regions !== undefined && !k.regions.includes(st.region))
      throw new KeymeshError(
        'FORBIDDEN',
        'a replica recipient is attested for a region outside the placement',
        {
          details: { reason: 'region', nodeId: r.nodeId },
        },
      );
    if (k?.minLevel !== undefined && st.level < k.minLevel)
      throw new KeymeshError('FORBIDDEN', 'a replica recipient is attested below the placement level', {
        details: { reason: 'level', nodeId: r.nodeId },
      });
    return { nodeId: r.nodeId, transportPublicKey: st.transportPublicKey };
  });
  const plaintext = new Uint8Array(1 + body.length);
  plaintext[0] = kind;
  plaintext.set(body, 1);
  try {
    return targets.map((t) => ({
      nodeId: t.nodeId,
      transportPublicKey: t.transportPublicKey,
      wrapped: wrapToNode(plaintext, new Uint8Array(Buffer.from(t.transportPublicKey.slice(2), 'hex')), {
        ...binding,
        nodeId: t.nodeId,
      }),
    }));
  } finally {
    plaintext.fill(0);
  }
}

/** Add the replicas asked for to a key just sealed (its material is still in hand). */
function withReplicas(
  made: NewKey,
  binding: SealBinding,
  kind: number,
  body: Uint8Array,
  req: WrapRequest | undefined,
): NewKey {
  if (req === undefined) return made;
  return { ...made, replicas: wrapAll(binding, kind, body, req) };
}

function wrapOp(args: { key: SealedKeyRef; req: WrapRequest }): WrappedReplica[] {
  checkRef(args.key);
  checkWrapRequest(args.req); // before anything is opened
  const { kind, body } = openMaterial(args.key);
  try {
    return wrapAll(args.key, kind, body, args.req);
  } finally {
    body.fill(0);
  }
}

function evict(args: { keyId: string; version?: number }): number {
  if (!cache) return 0;
  const v = args.version === undefined ? undefined : String(args.version);
  // A key's own entry and all its HD children's.
  return cache.deleteWhere((k) => keyIdOf(k) === args.keyId && (v === undefined || versionOf(k) === v));
}

function run(call: Call): unknown {
  clusterCtx = 'cluster' in call.args ? call.args.cluster : undefined;
  switch (call.op) {
    case 'generate':
      return generate(call.args);
    case 'import':
      return importKey(call.args);
    case 'importMnemonic':
      return importMnemonic(call.args);
    case 'derive':
      return derive(call.args);
    case 'sign':
      return sign(call.args);
    case 'verify':
      return verifySignature(call.args.req);
    case 'evict':
      return evict(call.args);
    case 'wrap':
      return wrapOp(call.args);
    case 'transport':
      return transportOp(call.args);
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
  transport?.secret.fill(0);
  transport = undefined;
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
