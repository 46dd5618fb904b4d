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
// This file is the thread's entry (pool.ts spawns it by path): message dispatch and lifecycle. The
// operations live in worker/: state.ts (sealing key, cache), open.ts (unsealing and cache hits),
// keys.ts (single keys, signing), hd.ts (HD roots and children), transport.ts and replicas.ts
// (cluster), integrity.ts (the cluster integrity key and the MACs of store records).
//
// HD roots (sealed kind 0x02, the BIP39 seed) are cached like single keys, as their seed, under
// `version\0keyId`; each child that signed is cached as its own signer under
// `version/path\0keyId` (the canonical path), bound to the same sealed blob and evicted with the
// key. A cached child signs at a single key's speed; an uncached one first costs the derivation
// (crypto/hd.ts, about 0.12 ms for m/44'/60'/0'/0/0) and, for Ed25519, OpenSSL's key import.
// Measured as above (2 workers, 32 in flight), secp256k1 ECDSA signatures/s: single key 11,800;
// HD child at one path 12,200; at a new path every time 4,300; derive at a new path 7,800.
import { parentPort, type MessagePort } from 'node:worker_threads';
import { KeymeshError } from '../../errors.js';
import { ownedCopy } from '../crypto/bytes.js';
import { verifySignature } from '../crypto/verify.js';
import { loadSealingKey } from '../sealing-key.js';
import type { Call, FromWorker, ToWorker } from './protocol.js';
import { derive, importMnemonic } from './worker/hd.js';
import { generate, importKey, sign } from './worker/keys.js';
import { wrapOp } from './worker/replicas.js';
import {
  forgetIntegrityKey,
  integrityAdoptOp,
  integrityOp,
  integrityWrapOp,
  recordMacOp,
  recordVerifyOp,
} from './worker/integrity.js';
import { evict, startCache, state, stats } from './worker/state.js';
import { transportOp } from './worker/transport.js';

if (!parentPort) throw new Error('enclave worker must run in a worker thread');
const port = parentPort;

function send(msg: FromWorker): void {
  port.postMessage(msg);
}

function errorFields(e: unknown): { code: string; message: string } {
  if (e instanceof KeymeshError) return { code: e.code, message: e.shortMessage };
  // Anything else is a bug or a library failure; its text could name internals, so none crosses.
  return { code: 'ENCLAVE_FAILURE', message: 'the enclave failed to complete the operation' };
}

function run(call: Call): unknown {
  state.clusterCtx = 'cluster' in call.args ? call.args.cluster : undefined;
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
    case 'integrity':
      return integrityOp(call.args);
    case 'integrityWrap':
      return integrityWrapOp(call.args);
    case 'integrityAdopt':
      return integrityAdoptOp(call.args);
    case 'recordMac':
      return recordMacOp(call.args);
    case 'recordVerify':
      return recordVerifyOp(call.args);
    case 'stats':
      return { ...stats, cached: state.cache?.size ?? 0 };
    default:
      throw new KeymeshError('INVALID_REQUEST', 'unknown enclave operation');
  }
}

// ---- lifecycle -------------------------------------------------------------------------------

function shutdown(): void {
  if (state.sweeper) clearInterval(state.sweeper);
  state.cache?.clear();
  state.transport?.secret.fill(0);
  state.transport = undefined;
  forgetIntegrityKey();
  state.sealingKey?.fill(0);
  state.sealingKey = undefined;
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
        state.sealingKey = loadSealingKey(source);
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
          state.sealingKey = k;
          send({ t: 'ready' });
        } else {
          send({ t: 'init-failed', code: 'ENCLAVE_FAILURE', message: 'no sealing key was handed over' });
        }
      });
      return;
    }
    case 'share': {
      const to: MessagePort = msg.port;
      const copy = state.sealingKey ? ownedCopy(state.sealingKey) : undefined;
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
