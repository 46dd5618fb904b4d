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
}

export interface NewKey {
  publicKey: Uint8Array; // secp256k1/p256: 33-byte compressed SEC1; ed25519: 32 bytes
  sealed: Uint8Array;
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

export interface Enclave {
  readonly kind: 'software' | 'pkcs11';
  /** Make a new private key inside the enclave; it leaves only sealed. */
  generate(req: { keyId: string; version: number; algorithm: Algorithm }): Promise<NewKey>;
  /**
   * Seal an imported private key (32-byte scalar for ECDSA curves, 32-byte seed for Ed25519).
   * Validates it (zero or >= order: INVALID_KEY). The caller's buffer is zeroed once handed over.
   */
  importKey(req: {
    keyId: string;
    version: number;
    algorithm: Algorithm;
    privateKey: Uint8Array;
  }): Promise<NewKey>;
  /** Sign, then verify the signature inside the enclave before it leaves (fault check). */
  sign(key: SealedKeyRef, req: SignRequest): Promise<SignResult>;
  /** Public-key verification; no secret involved, run on the enclave's threads for throughput. */
  verify(req: VerifyRequest): Promise<boolean>;
  /**
   * Optional: forget any unsealed copy of a key the enclave keeps for speed (all versions when
   * `version` is omitted). Call it when a key is destroyed, compromised or re-sealed.
   */
  evict?(keyId: string, version?: number): Promise<void>;
  close(): Promise<void>;
}
