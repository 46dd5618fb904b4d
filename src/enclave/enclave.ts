// The enclave boundary. Private key bytes exist only behind this interface: the node holds sealed
// blobs and public keys. Implementations: `software` (worker threads, enclave/software/), later
// `pkcs11` (sealing key in an HSM) and hardware enclaves. See DESIGN.md, "Trust boundaries".
//
// Sealed blob: AES-256-GCM under the node's sealing key, with the key id, key version and
// algorithm bound as associated data (enclave/crypto/seal.ts), so a blob cannot be moved to
// another key record unnoticed.

export const Algorithms = ['secp256k1', 'ed25519', 'p256'] as const;
export type Algorithm = (typeof Algorithms)[number];

/** What the node passes in to use a key: never the key, only its sealed form and identity. */
export interface SealedKeyRef {
  keyId: string;
  version: number;
  algorithm: Algorithm;
  sealed: Uint8Array;
  /**
   * Cluster mode: `sealed` is not a blob sealed by this node but a replica wrapped to this node's
   * transport key (enclave/crypto/wrap.ts), as stored in etcd. The enclave unwraps it with its
   * transport secret, bound to this key id, version, algorithm and its own node id.
   */
  replica?: boolean;
}

/**
 * A node a replica is to be wrapped to: its id and its attestation exactly as it published it.
 * The enclave verifies the attestation against the cluster CA itself and takes the transport key
 * from the verified statement, never from the node side (DESIGN.md, "Key material").
 */
export interface ReplicaRecipient {
  nodeId: string;
  attestation: unknown;
}

/** Which attested regions and levels a replica may go to (the key's placement); checked in the enclave. */
export interface ReplicaConstraint {
  regions?: readonly string[];
  minLevel?: number;
}

export interface WrapRequest {
  recipients: readonly ReplicaRecipient[];
  constraint?: ReplicaConstraint;
}

/** One replica: the key material (sealed plaintext with its kind tag) wrapped to one node. */
export interface WrappedReplica {
  nodeId: string;
  /** The transport key it was wrapped to, from the verified attestation: 0x + 64 hex. */
  transportPublicKey: string;
  wrapped: Uint8Array;
}

export interface NewKey {
  publicKey: Uint8Array; // secp256k1/p256: 33-byte compressed SEC1; ed25519: 32 bytes
  sealed: Uint8Array;
  /**
   * HD roots only. `publicKey` is then the master (m) key's. `fingerprint`: 4 bytes, BIP32's
   * HASH160(master public key)[0..4] for secp256k1 (what PSBT derivation records name), and the
   * SLIP-10 analogue HASH160(0x00 ‖ public key)[0..4] for Ed25519 (an identifier only).
   * `chainCode`: secp256k1 only, the master chain code, so the node can show the master xpub.
   */
  hd?: { fingerprint: Uint8Array; chainCode?: Uint8Array };
  /** Cluster mode, when `replicas` was asked for: one per recipient, in the order given. */
  replicas?: WrappedReplica[];
}

/**
 * The public half of one node of an HD tree (what a watch-only wallet may know). `chainCode`,
 * `depth`, `index` and `parentFingerprint` are given for secp256k1 only, where with `publicKey`
 * they make the BIP32 extended public key; SLIP-10 Ed25519 has no public derivation.
 */
export interface DerivedKey {
  publicKey: Uint8Array; // secp256k1: 33 bytes compressed; ed25519: 32 bytes
  chainCode?: Uint8Array;
  depth?: number;
  index?: number;
  parentFingerprint?: Uint8Array; // 4 bytes, zeros for the master
}

/**
 * What is signed. `digest`: 32 bytes signed as given (ECDSA only). `message`: SHA-256 then ECDSA,
 * or pure Ed25519 over the bytes. `scheme` defaults to the algorithm's natural one; `schnorr` is
 * BIP340 (secp256k1 only, 32-byte digest), `schnorr-taproot` is BIP340 with the BIP86 key tweak.
 * `path` (HD keys only) derives a child first (BIP32 for secp256k1, SLIP-10 for ed25519).
 */
export interface SignRequest {
  digest?: Uint8Array;
  message?: Uint8Array;
  scheme?: 'ecdsa' | 'ed25519' | 'schnorr' | 'schnorr-taproot';
  path?: string;
}

export interface SignResult {
  signature: Uint8Array; // ECDSA: 64 bytes r‖s, low-s; Ed25519 and BIP340: 64 bytes
  recoveryId?: number; // secp256k1 ECDSA only: 0 or 1
}

export interface VerifyRequest {
  algorithm: Algorithm;
  publicKey: Uint8Array;
  digest?: Uint8Array;
  message?: Uint8Array;
  signature: Uint8Array; // ECDSA 64 bytes r‖s (high-s accepted, as ECDSA allows); Ed25519 64 bytes
  /** Optional: `schnorr` (BIP340 against the x-only key) or `schnorr-taproot` (against the BIP86
   * output key of `publicKey`), secp256k1 only, over a 32-byte digest. Default: the algorithm's own. */
  scheme?: SignRequest['scheme'];
}

/** A store record to MAC or verify (crypto/record-mac.ts): its kind, id and canonical body. */
export interface RecordMacRequest {
  kind: 'key' | 'token';
  id: string;
  /** The record without its mac, canonical JSON (src/records/canonical.ts), UTF-8. */
  body: Uint8Array;
}

/**
 * The cluster integrity key (crypto/record-mac.ts), which lives only inside the enclave: made by
 * the first node (or a standalone node), sealed in the data dir like other enclave secrets, and
 * in a cluster wrapped to each attested node exactly like a key replica (src/cluster/integrity.ts).
 */
/** A copy of the integrity key wrapped to one node, with the wrapping node's tag over it. */
export interface WrappedIntegrityCopy extends WrappedReplica {
  /** crypto/integrity-copy.ts: proves the copy was wrapped by the named sender's enclave. */
  tag: Uint8Array;
}

/** A copy wrapped to this node, and who says they wrapped it (checked in the enclave). */
export interface IntegrityCopy {
  wrapped: Uint8Array;
  tag: Uint8Array;
  /** The wrapping node: its id and its attestation as it published it. */
  sender: ReplicaRecipient;
}

export interface IntegrityKeys {
  /** The key check value (0x + 64 hex) of the integrity key this enclave holds, if it holds one. */
  check(): string | undefined;
  /** A fresh integrity key, sealed, not yet installed. */
  create(): Promise<{ sealed: Uint8Array; check: string }>;
  /**
   * Cluster mode: a copy wrapped to this node's transport key, opened and sealed here; not
   * installed. Refused (ENCLAVE_FAILURE, FORBIDDEN) unless the sender's attestation verifies
   * against the cluster CA and its tag over the copy does under its attested transport key.
   */
  adopt(copy: IntegrityCopy): Promise<{ sealed: Uint8Array; check: string }>;
  /** Check a sealed integrity key opens, keep it in the data dir and use it from now on. */
  install(sealed: Uint8Array): Promise<string>;
  /** Cluster mode: the installed key wrapped to each recipient whose attestation verifies. */
  wrap(req: WrapRequest): Promise<WrappedIntegrityCopy[]>;
}

export interface Enclave {
  readonly kind: 'software' | 'pkcs11';
  /**
   * Make a new private key inside the enclave; it leaves only sealed. With `hd`, an HD root
   * (secp256k1 or ed25519): a 24-word BIP39 mnemonic (256 bits) is made and turned into its seed
   * inside the enclave; only the seed is sealed, the mnemonic is never kept nor shown.
   */
  generate(req: {
    keyId: string;
    version: number;
    algorithm: Algorithm;
    hd?: boolean;
    replicas?: WrapRequest;
  }): Promise<NewKey>;
  /**
   * Seal an imported private key (32-byte scalar for ECDSA curves, 32-byte seed for Ed25519).
   * Validates it (zero or >= order: INVALID_KEY). The caller's buffer is zeroed once handed over.
   */
  importKey(req: {
    keyId: string;
    version: number;
    algorithm: Algorithm;
    privateKey: Uint8Array;
    replicas?: WrapRequest;
  }): Promise<NewKey>;
  /**
   * Seal an HD root from a BIP39 mnemonic (English; 12 to 24 words) and optional passphrase, both
   * UTF-8 bytes. A bad checksum, unknown word or wrong count is INVALID_REQUEST naming the word's
   * position, never the word. The caller's buffers are zeroed once handed over.
   */
  importMnemonic(req: {
    keyId: string;
    version: number;
    algorithm: Algorithm;
    mnemonic: Uint8Array;
    passphrase?: Uint8Array;
    replicas?: WrapRequest;
  }): Promise<NewKey>;
  /**
   * The public key at `path` of an HD root (BIP32 for secp256k1, SLIP-10 hardened-only for
   * Ed25519). A malformed path, a non-hardened Ed25519 step, or a key that is not an HD root:
   * INVALID_REQUEST.
   */
  derive(key: SealedKeyRef, path: string): Promise<DerivedKey>;
  /**
   * Sign, then verify the signature inside the enclave before it leaves (fault check). An HD root
   * signs only with a `path` ("m" for the master key itself): without one, INVALID_REQUEST; a path
   * on a single key: INVALID_REQUEST.
   */
  sign(key: SealedKeyRef, req: SignRequest): Promise<SignResult>;
  /** Public-key verification; no secret involved, run on the enclave's threads for throughput. */
  verify(req: VerifyRequest): Promise<boolean>;
  /**
   * Optional: forget any unsealed copy of a key the enclave keeps for speed (all versions when
   * `version` is omitted). Call it when a key is destroyed, compromised or re-sealed.
   */
  evict?(keyId: string, version?: number): Promise<void>;
  /**
   * Cluster mode only (the enclave was started with a node id and the cluster CA): this enclave's
   * X25519 transport public key, 32 bytes, made at first start and kept sealed in the data dir.
   */
  transportPublicKey?(): Uint8Array;
  /**
   * Cluster mode only: wrap a key this node holds (sealed here, or a replica wrapped to it) to
   * each recipient whose attestation verifies against the cluster CA and whose attested region and
   * level meet `constraint`; any that does not fails the whole call (FORBIDDEN).
   */
  wrapReplicas?(key: SealedKeyRef, req: WrapRequest): Promise<WrappedReplica[]>;
  /**
   * The MAC (32 bytes) of a store record under the cluster integrity key; UNAVAILABLE while this
   * node does not hold the key yet (a joining node before its copy arrives).
   */
  macRecord(record: RecordMacRequest): Promise<Uint8Array>;
  /** Whether `mac` is the record's MAC (compared in constant time inside the enclave). */
  verifyRecord(record: RecordMacRequest, mac: Uint8Array): Promise<boolean>;
  /** The integrity key's management (making, adopting, wrapping it); absent on test doubles. */
  readonly integrity?: IntegrityKeys;
  close(): Promise<void>;
}
