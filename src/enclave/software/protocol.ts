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
} from '../enclave.js';
import type { Argon2Params } from '../sealing-key.js';

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

export type Call =
  | { op: 'generate'; args: { keyId: string; version: number; algorithm: Algorithm; hd?: boolean } }
  | { op: 'import'; args: { keyId: string; version: number; algorithm: Algorithm; privateKey: Uint8Array } }
  | {
      op: 'importMnemonic';
      args: {
        keyId: string;
        version: number;
        algorithm: Algorithm;
        mnemonic: Uint8Array;
        passphrase?: Uint8Array;
      };
    }
  | { op: 'derive'; args: { key: SealedKeyRef; path: string } }
  | { op: 'sign'; args: { key: SealedKeyRef; req: SignRequest } }
  | { op: 'verify'; args: { req: VerifyRequest } }
  | { op: 'evict'; args: { keyId: string; version?: number } }
  | { op: 'stats'; args: Record<string, never> };

export interface CallResults {
  generate: NewKey;
  import: NewKey;
  importMnemonic: NewKey;
  derive: DerivedKey;
  sign: SignResult;
  verify: boolean;
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
