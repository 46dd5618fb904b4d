// The `software` enclave (DESIGN.md "Trust boundaries"): a pool of worker threads, each holding
// the sealing key and doing all private-key work, so the main thread (HTTP, core) only ever sees
// sealed blobs, public keys and signatures. Calls go to the least-loaded worker; an error inside
// a call comes back as {code, message} and is rethrown here as KeymeshError. A worker that dies
// fails its in-flight calls (ENCLAVE_FAILURE) and is replaced; the replacement gets the sealing
// key from a live sibling over a private MessagePort, because the passphrase is long gone by then.
//
// Secrets crossing into the pool: the passphrase (copied to each worker, then zeroed here), and an
// imported private key, mnemonic or BIP39 passphrase (each copied into a buffer that is
// transferred, not cloned, then the caller's buffer is zeroed). Nothing secret ever comes back.
import { availableParallelism } from 'node:os';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { KeymeshError } from '../../errors.js';
import type {
  Algorithm,
  DerivedKey,
  Enclave,
  NewKey,
  RecordMacRequest,
  SealedKeyRef,
  SignRequest,
  SignResult,
  VerifyRequest,
  WrappedReplica,
  WrapRequest,
} from '../enclave.js';
import { DEV_KEY_FILE, SEAL_CONFIG_FILE, type Argon2Params } from '../sealing-key.js';
import { IntegrityKeyFile } from './integrity.js';
import { Slot } from './slot.js';
import type {
  CacheOptions,
  Call,
  CallResults,
  ClusterContext,
  InitSource,
  ToWorker,
  WorkerStats,
} from './protocol.js';

export interface SoftwareEnclaveOptions {
  dataDir: string;
  dev: boolean;
  /** The unseal passphrase (not with `dev`). Zeroed once every worker has its copy. */
  passphrase?: Uint8Array;
  /** Worker threads; default os.availableParallelism(). */
  threads?: number;
  /** Argon2id cost when seal.json is first created (tests use a cheap one). */
  argon2?: Argon2Params;
  /** Unsealed-signer cache per worker: entries (0 = off, default 1024) and idle wipe (default 5 min). */
  cache?: Partial<CacheOptions>;
  /**
   * Cluster mode: this node's id and the cluster CA certificate (PEM) that peers' attestations
   * are verified against. The transport key pair is made at the first start in cluster mode and
   * kept sealed in DATA_DIR/transport.sealed.
   */
  cluster?: { nodeId: string; ca: string };
}

/** The sealed X25519 transport secret, in the data dir (sealed like a key: useless without it). */
export const TRANSPORT_FILE = 'transport.sealed';

const MAX_THREADS = 256;
const CLOSE_GRACE_MS = 2000;
const REPLACE_TIMEOUT_MS = 30_000;
function copyToTransfer(b: Uint8Array): Uint8Array {
  const c = new Uint8Array(b.length);
  c.set(b);
  return c;
}

export class SoftwareEnclave implements Enclave {
  readonly kind = 'software' as const;
  readonly #slots: Slot[] = [];
  readonly #cache: CacheOptions;
  readonly #dev: boolean;
  readonly #dataDir: string;
  #nextId = 1;
  #rr = 0;
  #clusterCtx: ClusterContext | undefined;
  #transportPublic: Uint8Array | undefined;
  #closing = false;
  /** The cluster integrity key (enclave.ts IntegrityKeys; src/enclave/software/integrity.ts). */
  readonly integrity: IntegrityKeyFile;

  /** Use createSoftwareEnclave. */
  private constructor(opts: SoftwareEnclaveOptions, cache: CacheOptions) {
    this.#cache = cache;
    this.#dev = opts.dev;
    this.#dataDir = opts.dataDir;
    this.integrity = new IntegrityKeyFile(
      opts.dataDir,
      (c) => this.#call(c),
      () => this.#ctx(),
    );
  }

  static async start(opts: SoftwareEnclaveOptions): Promise<SoftwareEnclave> {
    const passphrase = opts.passphrase;
    try {
      if (
        opts === null ||
        typeof opts !== 'object' ||
        typeof opts.dataDir !== 'string' ||
        opts.dataDir === ''
      )
        throw new KeymeshError('INVALID_REQUEST', 'dataDir is required');
      const threads = opts.threads ?? availableParallelism();
      if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS)
        throw new KeymeshError('INVALID_REQUEST', `threads must be an integer from 1 to ${MAX_THREADS}`);
      if (opts.dev && passphrase !== undefined)
        throw new KeymeshError(
          'INVALID_REQUEST',
          'a dev node uses its key file; do not pass an unseal passphrase',
        );
      if (!opts.dev && (!(passphrase instanceof Uint8Array) || passphrase.length === 0))
        throw new KeymeshError('ENCLAVE_FAILURE', 'an unseal passphrase is required to start without --dev');
      const cache: CacheOptions = {
        max: opts.cache?.max ?? 1024,
        idleMs: opts.cache?.idleMs ?? 5 * 60_000,
      };
      if (!Number.isInteger(cache.max) || cache.max < 0 || !(cache.idleMs > 0))
        throw new KeymeshError(
          'INVALID_REQUEST',
          'cache.max must be a non-negative integer and cache.idleMs positive',
        );

      const pool = new SoftwareEnclave(opts, cache);
      const init = (slot: Slot) => {
        const source: InitSource = { dataDir: opts.dataDir, dev: opts.dev };
        if (opts.argon2) source.argon2 = opts.argon2;
        const transfer: ArrayBuffer[] = [];
        if (passphrase) {
          const copy = copyToTransfer(passphrase);
          source.passphrase = copy;
          transfer.push(copy.buffer as ArrayBuffer);
        }
        slot.post({ t: 'init', source, cache }, transfer);
        return slot.started;
      };
      // The first start creates the key file or seal.json: let one worker do it, then the rest
      // read what it wrote (otherwise each would race to create its own).
      const file = join(opts.dataDir, opts.dev ? DEV_KEY_FILE : SEAL_CONFIG_FILE);
      const slots = Array.from({ length: threads }, () => pool.#spawn());
      try {
        if (!existsSync(file)) {
          await init(slots[0]!);
          await Promise.all(slots.slice(1).map(init));
        } else {
          await Promise.all(slots.map(init));
        }
        if (opts.cluster) await pool.#openTransport(opts.cluster);
        // Alone, the node is its own cluster and makes its integrity key at first start; in a
        // cluster only the first node does (src/cluster/integrity.ts), the others receive it.
        await pool.integrity.load({ create: !opts.cluster });
      } catch (e) {
        await pool.close();
        throw e;
      }
      return pool;
    } finally {
      if (passphrase instanceof Uint8Array) passphrase.fill(0);
    }
  }

  /** Load the sealed transport key (checking it opens), or make and persist one on first start. */
  async #openTransport(c: { nodeId: string; ca: string }): Promise<void> {
    const file = join(this.#dataDir, TRANSPORT_FILE);
    const existing = existsSync(file) ? new Uint8Array(readFileSync(file)) : undefined;
    const t = await this.#call({ op: 'transport', args: existing ? { sealed: existing } : {} });
    if (!existing) {
      // Written whole or not at all: a torn file would leave the node unable to open its replicas.
      const tmp = `${file}.tmp`;
      writeFileSync(tmp, t.sealed, { mode: 0o600 });
      renameSync(tmp, file);
    }
    this.#clusterCtx = { nodeId: c.nodeId, ca: c.ca, transportSealed: t.sealed };
    this.#transportPublic = t.publicKey;
  }

  /** Cluster mode: the X25519 transport public key (32 bytes). */
  transportPublicKey(): Uint8Array {
    if (!this.#transportPublic)
      throw new KeymeshError('INVALID_REQUEST', 'this enclave was not started in cluster mode');
    return Uint8Array.from(this.#transportPublic);
  }

  /** Cluster mode: wrap a key held here to attested recipients (see Enclave.wrapReplicas). */
  wrapReplicas(key: SealedKeyRef, req: WrapRequest): Promise<WrappedReplica[]> {
    return this.#call({ op: 'wrap', args: { key, req, ...this.#ctx() } });
  }

  #ctx(): { cluster?: ClusterContext } {
    return this.#clusterCtx ? { cluster: this.#clusterCtx } : {};
  }

  #spawn(): Slot {
    const slot = new Slot((s) => this.#onExit(s));
    this.#slots.push(slot);
    return slot;
  }

  /** Replace a dead worker; it adopts the sealing key from a live sibling (or rereads the dev file). */
  #onExit(dead: Slot): void {
    const i = this.#slots.indexOf(dead);
    if (i >= 0) this.#slots.splice(i, 1);
    if (this.#closing) return;
    const donor = this.#slots.find((s) => s.ready);
    if (!donor && !this.#dev) return; // nobody holds the key and the passphrase is gone
    const slot = this.#spawn();
    if (donor) {
      const { port1, port2 } = new MessageChannel();
      slot.post({ t: 'adopt', port: port2, cache: this.#cache }, [port2]);
      donor.post({ t: 'share', port: port1 }, [port1]);
    } else {
      slot.post({ t: 'init', source: { dataDir: this.#dataDir, dev: true }, cache: this.#cache });
    }
    // A replacement that cannot start (or whose donor went away) is dropped; the pool keeps
    // serving with the others.
    const timer = setTimeout(() => void slot.worker.terminate(), REPLACE_TIMEOUT_MS);
    timer.unref();
    slot.started.then(
      () => clearTimeout(timer),
      () => {
        clearTimeout(timer);
        void slot.worker.terminate();
      },
    );
  }

  #pick(): Slot {
    const live = this.#slots.filter((s) => s.ready);
    if (live.length === 0)
      throw new KeymeshError(
        'ENCLAVE_FAILURE',
        'the enclave has no running workers; restart the node to unseal it',
      );
    // Least loaded; ties go round-robin so an idle pool still spreads work.
    const start = this.#rr++ % live.length;
    let best = live[start]!;
    for (let k = 1; k < live.length; k++) {
      const s = live[(start + k) % live.length]!;
      if (s.pending.size < best.pending.size) best = s;
    }
    return best;
  }

  #call<K extends Call['op']>(
    call: Extract<Call, { op: K }>,
    transfer: ArrayBuffer[] = [],
  ): Promise<CallResults[K]> {
    if (this.#closing) return Promise.reject(new KeymeshError('UNAVAILABLE', 'the enclave is closed'));
    let slot: Slot;
    try {
      slot = this.#pick();
    } catch (e) {
      return Promise.reject(e);
    }
    const id = this.#nextId++;
    return new Promise<CallResults[K]>((resolve, reject) => {
      slot.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      try {
        slot.post({ t: 'call', id, ...call } as ToWorker, transfer);
      } catch (e) {
        slot.pending.delete(id);
        // A DataCloneError names the offending value's type only, but keep messages uniform.
        reject(
          new KeymeshError('INVALID_REQUEST', 'the request could not be passed to the enclave', { cause: e }),
        );
      }
    });
  }

  generate(req: {
    keyId: string;
    version: number;
    algorithm: Algorithm;
    hd?: boolean;
    replicas?: WrapRequest;
  }): Promise<NewKey> {
    return this.#call({
      op: 'generate',
      args: {
        keyId: req.keyId,
        version: req.version,
        algorithm: req.algorithm,
        ...(req.hd === undefined ? {} : { hd: req.hd }),
        ...(req.replicas === undefined ? {} : { replicas: req.replicas, ...this.#ctx() }),
      },
    });
  }

  importKey(req: {
    keyId: string;
    version: number;
    algorithm: Algorithm;
    privateKey: Uint8Array;
    replicas?: WrapRequest;
  }): Promise<NewKey> {
    const given = req.privateKey;
    if (!(given instanceof Uint8Array))
      return Promise.reject(new KeymeshError('INVALID_REQUEST', 'privateKey must be bytes'));
    const privateKey = copyToTransfer(given);
    try {
      return this.#call(
        {
          op: 'import',
          args: {
            keyId: req.keyId,
            version: req.version,
            algorithm: req.algorithm,
            privateKey,
            ...(req.replicas === undefined ? {} : { replicas: req.replicas, ...this.#ctx() }),
          },
        },
        [privateKey.buffer as ArrayBuffer],
      );
    } finally {
      given.fill(0);
      // Once transferred the copy is detached (length 0); if posting failed it is wiped here.
      if (privateKey.byteLength > 0) privateKey.fill(0);
    }
  }

  importMnemonic(req: {
    keyId: string;
    version: number;
    algorithm: Algorithm;
    mnemonic: Uint8Array;
    passphrase?: Uint8Array;
    replicas?: WrapRequest;
  }): Promise<NewKey> {
    const given = [req.mnemonic, req.passphrase];
    try {
      if (!(req.mnemonic instanceof Uint8Array))
        return Promise.reject(new KeymeshError('INVALID_REQUEST', 'mnemonic must be bytes'));
      if (req.passphrase !== undefined && !(req.passphrase instanceof Uint8Array))
        return Promise.reject(new KeymeshError('INVALID_REQUEST', 'passphrase must be bytes'));
      const mnemonic = copyToTransfer(req.mnemonic);
      const passphrase = req.passphrase === undefined ? undefined : copyToTransfer(req.passphrase);
      try {
        return this.#call(
          {
            op: 'importMnemonic',
            args: {
              keyId: req.keyId,
              version: req.version,
              algorithm: req.algorithm,
              mnemonic,
              ...(passphrase ? { passphrase } : {}),
              ...(req.replicas === undefined ? {} : { replicas: req.replicas, ...this.#ctx() }),
            },
          },
          [mnemonic.buffer as ArrayBuffer, ...(passphrase ? [passphrase.buffer as ArrayBuffer] : [])],
        );
      } finally {
        // Once transferred the copies are detached (length 0); if posting failed they are wiped here.
        if (mnemonic.byteLength > 0) mnemonic.fill(0);
        if (passphrase && passphrase.byteLength > 0) passphrase.fill(0);
      }
    } finally {
      for (const b of given) if (b instanceof Uint8Array) b.fill(0);
    }
  }

  derive(key: SealedKeyRef, path: string): Promise<DerivedKey> {
    return this.#call({ op: 'derive', args: { key, path, ...this.#ctx() } });
  }

  sign(key: SealedKeyRef, req: SignRequest): Promise<SignResult> {
    return this.#call({ op: 'sign', args: { key, req, ...this.#ctx() } });
  }

  verify(req: VerifyRequest): Promise<boolean> {
    return this.#call({ op: 'verify', args: { req } });
  }

  macRecord(record: RecordMacRequest): Promise<Uint8Array> {
    return this.integrity.mac(record);
  }

  verifyRecord(record: RecordMacRequest, mac: Uint8Array): Promise<boolean> {
    return this.integrity.verify(record, mac);
  }

  /** Wipe any cached unsealed copy of a key in every worker (all versions when none is given). */
  async evict(keyId: string, version?: number): Promise<void> {
    const live = this.#slots.filter((s) => s.ready);
    await Promise.all(
      live.map(
        (slot) =>
          new Promise<unknown>((resolve, reject) => {
            const id = this.#nextId++;
            slot.pending.set(id, { resolve, reject });
            slot.post({
              t: 'call',
              id,
              op: 'evict',
              args: version === undefined ? { keyId } : { keyId, version },
            });
          }),
      ),
    );
  }

  /** Per-worker counters: cached signers, cache hits and misses, signatures. */
  async stats(): Promise<WorkerStats[]> {
    const live = this.#slots.filter((s) => s.ready);
    return Promise.all(
      live.map(
        (slot) =>
          new Promise<WorkerStats>((resolve, reject) => {
            const id = this.#nextId++;
            slot.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
            slot.post({ t: 'call', id, op: 'stats', args: {} });
          }),
      ),
    );
  }

  /** Number of workers ready to serve. */
  get liveWorkers(): number {
    return this.#slots.filter((s) => s.ready).length;
  }

  /** For tests: stop one worker abruptly, as a crash would. */
  async _terminateWorker(index: number): Promise<void> {
    const slot = this.#slots.filter((s) => s.ready)[index];
    if (slot) await slot.worker.terminate();
  }

  async close(): Promise<void> {
    this.#closing = true;
    const slots = [...this.#slots];
    await Promise.all(
      slots.map(async (slot) => {
        if (slot.dead) return;
        const exited = new Promise<void>((resolve) => slot.worker.once('exit', () => resolve()));
        try {
          // Queued after any in-flight call, so those finish first; the worker then wipes its
          // cache and key and lets its event loop end.
          slot.post({ t: 'close' });
        } catch {
          // already gone
        }
        const timer = setTimeout(() => void slot.worker.terminate(), CLOSE_GRACE_MS);
        await exited;
        clearTimeout(timer);
      }),
    );
  }
}

export function createSoftwareEnclave(opts: SoftwareEnclaveOptions): Promise<SoftwareEnclave> {
  return SoftwareEnclave.start(opts);
}
