// Messages between the software enclave's pool (main thread) and its workers. Structured-clone
// data only; errors cross as {code, message} and become KeymeshError again on the main side.
import type { MessagePort } from 'node:worker_threads';
import type {
  Algorithm,
  DerivedKey,
  SealedKeyRef,
  SignRequest,
  SignResult,
  VerifyRequest,
  NewKey,
  ReplicaRecipient,
  WrappedIntegrityCopy,
  WrappedReplica,
  WrapRequest,
} from '../enclave.js';
import type { Argon2Params } from '../sealing-key.js';
import type { RecordMacInput } from '../crypto/record-mac.js';

export interface CacheOptions {
  /** Unsealed signers kept per worker; 0 disables the cache. */
  max: number;
  /** A signer unused this long is wiped. */
  idleMs: number;
}

export interface InitSource {
  dataDir: string;
  dev: boolean;
  passphrase?: Uint8Array;
  argon2?: Argon2Params;
}

/**
 * Cluster mode: what a worker needs to wrap and unwrap replicas, sent with each call that does
 * (so a replacement worker needs nothing handed over): this node's id, the cluster CA certificate
 * (PEM) attestations are verified against, and the transport secret as sealed in the data dir.
 */
export interface ClusterContext {
  nodeId: string;
  ca: string;
  transportSealed: Uint8Array;
}

export type Call =
  | {
      op: 'generate';
      args: {
        keyId: string;
        version: number;
        algorithm: Algorithm;
        hd?: boolean;
        replicas?: WrapRequest;
        cluster?: ClusterContext;
      };
    }
  | {
      op: 'import';
      args: {
        keyId: string;
        version: number;
        algorithm: Algorithm;
        privateKey: Uint8Array;
        replicas?: WrapRequest;
        cluster?: ClusterContext;
      };
    }
  | {
      op: 'importMnemonic';
      args: {
        keyId: string;
        version: number;
        algorithm: Algorithm;
        mnemonic: Uint8Array;
        passphrase?: Uint8Array;
        replicas?: WrapRequest;
        cluster?: ClusterContext;
      };
    }
  | { op: 'derive'; args: { key: SealedKeyRef; path: string; cluster?: ClusterContext } }
  | { op: 'sign'; args: { key: SealedKeyRef; req: SignRequest; cluster?: ClusterContext } }
  | { op: 'wrap'; args: { key: SealedKeyRef; req: WrapRequest; cluster?: ClusterContext } }
  | { op: 'transport'; args: { sealed?: Uint8Array } }
  | { op: 'verify'; args: { req: VerifyRequest } }
  | { op: 'integrity'; args: { sealed?: Uint8Array } }
  | { op: 'integrityWrap'; args: { integrity: Uint8Array; req: WrapRequest; cluster?: ClusterContext } }
  | {
      op: 'integrityAdopt';
      args: { wrapped: Uint8Array; tag: Uint8Array; sender: ReplicaRecipient; cluster?: ClusterContext };
    }
  | { op: 'recordMac'; args: { integrity: Uint8Array; record: RecordMacInput } }
  | { op: 'recordVerify'; args: { integrity: Uint8Array; record: RecordMacInput; mac: Uint8Array } }
  | { op: 'evict'; args: { keyId: string; version?: number } }
  | { op: 'stats'; args: Record<string, never> };

export interface CallResults {
  generate: NewKey;
  import: NewKey;
  importMnemonic: NewKey;
  derive: DerivedKey;
  sign: SignResult;
  wrap: WrappedReplica[];
  transport: { sealed: Uint8Array; publicKey: Uint8Array };
  verify: boolean;
  integrity: { sealed: Uint8Array; check: Uint8Array };
  integrityWrap: WrappedIntegrityCopy[];
  integrityAdopt: { sealed: Uint8Array; check: Uint8Array };
  recordMac: Uint8Array;
  recordVerify: boolean;
  evict: number;
  stats: WorkerStats;
}

export interface WorkerStats {
  cached: number;
  hits: number;
  misses: number;
  signed: number;
}

export type ToWorker =
  | { t: 'init'; source: InitSource; cache: CacheOptions }
  | { t: 'adopt'; port: MessagePort; cache: CacheOptions }
  | { t: 'share'; port: MessagePort }
  | ({ t: 'call'; id: number } & Call)
  | { t: 'close' };

export type FromWorker =
  | { t: 'ready' }
  | { t: 'init-failed'; code: string; message: string }
  | { t: 'result'; id: number; ok: true; value: unknown }
  | { t: 'result'; id: number; ok: false; code: string; message: string };
