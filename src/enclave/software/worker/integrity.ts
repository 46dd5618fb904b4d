// The cluster integrity key inside the worker (crypto/record-mac.ts): made here, sealed under a
// binding of its own, wrapped to attested nodes exactly as a key replica is (replicas.ts wrapAll:
// each recipient's attestation verified against the cluster CA first), adopted from a copy wrapped
// to this node, and used to MAC and verify store records. The unsealed key is kept while the sealed
// blob the call brings is the same (as the transport secret is); it never leaves the worker.
import { getRandomValues } from 'node:crypto';
import { KeymeshError } from '../../../errors.js';
import type { ReplicaRecipient, WrappedIntegrityCopy, WrapRequest } from '../../enclave.js';
import { verifyAttestation } from '../../crypto/attestation.js';
import { checkBytes, equalBytes, hexToBytes, ownedCopy } from '../../crypto/bytes.js';
import { copyTag, verifyCopyTag } from '../../crypto/integrity-copy.js';
import {
  INTEGRITY_KEY_BYTES,
  integrityKeyCheck,
  recordMac,
  verifyRecordMac,
  type RecordMacInput,
} from '../../crypto/record-mac.js';
import { seal, unseal, type SealBinding } from '../../crypto/seal.js';
import { transportPublicKey, unwrapAtNode } from '../../crypto/wrap.js';
import { wrapAll } from './replicas.js';
import { key } from './state.js';
import { cluster, transportSecret } from './transport.js';

/**
 * Sealed (and wrapped) under a binding no key record can have (key ids never start with "@") and
 * a kind of its own, so neither a key's blob nor the transport key's can stand in for it. The AD
 * format names a signing algorithm; "ed25519" is a placeholder here, as for the transport key.
 */
const INTEGRITY_BINDING: SealBinding = { keyId: '@integrity', version: 1, algorithm: 'ed25519' };
const INTEGRITY_KIND = 0x11;

let held: { sealed: Uint8Array; key: Uint8Array } | undefined;

/** The integrity key in a sealed blob, unsealed and checked. The caller wipes it. */
function open(sealed: Uint8Array): Uint8Array {
  checkBytes('sealed integrity key', sealed);
  const { kind, body } = unseal(key(), INTEGRITY_BINDING, sealed);
  if (kind !== INTEGRITY_KIND || body.length !== INTEGRITY_KEY_BYTES) {
    body.fill(0);
    throw new KeymeshError('ENCLAVE_FAILURE', 'the integrity key is not usable');
  }
  return body;
}

/** The unsealed key for the sealed blob a call brings; kept while the blob is the same. */
function integrityKey(sealed: Uint8Array): Uint8Array {
  if (held && equalBytes(held.sealed, sealed)) return held.key;
  const k = open(sealed);
  forgetIntegrityKey();
  held = { sealed: ownedCopy(sealed), key: k };
  return k;
}

export function forgetIntegrityKey(): void {
  held?.key.fill(0);
  held = undefined;
}

function sealed(k: Uint8Array): { sealed: Uint8Array; check: Uint8Array } {
  return { sealed: seal(key(), INTEGRITY_BINDING, INTEGRITY_KIND, k), check: integrityKeyCheck(k) };
}

/**
 * No `sealed`: make a fresh integrity key (system CSPRNG) and return it sealed. With `sealed`:
 * check it opens. Either way with its key check value.
 */
export function integrityOp(args: { sealed?: Uint8Array }): { sealed: Uint8Array; check: Uint8Array } {
  if (args.sealed !== undefined) {
    const k = open(args.sealed);
    try {
      return { sealed: args.sealed, check: integrityKeyCheck(k) };
    } finally {
      k.fill(0);
    }
  }
  const k = getRandomValues(new Uint8Array(INTEGRITY_KEY_BYTES));
  try {
    return sealed(k);
  } finally {
    k.fill(0);
  }
}

/**
 * Cluster mode: the integrity key wrapped to each attested recipient, as a key replica is, each
 * copy with this node's tag over it (crypto/integrity-copy.ts).
 */
export function integrityWrapOp(args: { integrity: Uint8Array; req: WrapRequest }): WrappedIntegrityCopy[] {
  const k = open(args.integrity);
  try {
    const made = wrapAll(INTEGRITY_BINDING, INTEGRITY_KIND, k, args.req);
    const secret = transportSecret();
    const self = { senderId: cluster().nodeId, senderPublicKey: transportPublicKey(secret) };
    return made.map((m) => ({
      ...m,
      tag: copyTag(
        secret,
        { ...self, recipientId: m.nodeId, recipientPublicKey: hexToBytes(m.transportPublicKey.slice(2)) },
        m.wrapped,
      ),
    }));
  } finally {
    k.fill(0);
  }
}

/**
 * Cluster mode: a copy wrapped to this node, accepted only from an attested sender whose tag over
 * it verifies, then opened and sealed under this node's sealing key.
 */
export function integrityAdoptOp(args: { wrapped: Uint8Array; tag: Uint8Array; sender: ReplicaRecipient }): {
  sealed: Uint8Array;
  check: Uint8Array;
} {
  checkBytes('wrapped integrity key', args.wrapped);
  checkBytes('integrity copy tag', args.tag);
  const c = cluster();
  if (args.sender === null || typeof args.sender !== 'object' || typeof args.sender.nodeId !== 'string')
    throw new KeymeshError('INVALID_REQUEST', 'the sender of an integrity key copy is required');
  // The sender's transport key from its attestation, verified against the cluster CA here.
  const st = verifyAttestation(args.sender.attestation, c.ca, { nodeId: args.sender.nodeId });
  const secret = transportSecret();
  const parties = {
    senderId: args.sender.nodeId,
    recipientId: c.nodeId,
    senderPublicKey: hexToBytes(st.transportPublicKey.slice(2)),
    recipientPublicKey: transportPublicKey(secret),
  };
  if (!verifyCopyTag(secret, parties, args.wrapped, args.tag))
    throw new KeymeshError('ENCLAVE_FAILURE', 'the integrity key copy was not wrapped by the node it names');
  const plain = unwrapAtNode(args.wrapped, secret, { ...INTEGRITY_BINDING, nodeId: c.nodeId });
  try {
    if (plain.length !== 1 + INTEGRITY_KEY_BYTES || plain[0] !== INTEGRITY_KIND)
      throw new KeymeshError('ENCLAVE_FAILURE', 'the wrapped integrity key is not usable');
    return sealed(plain.subarray(1));
  } finally {
    plain.fill(0);
  }
}

export function recordMacOp(args: { integrity: Uint8Array; record: RecordMacInput }): Uint8Array {
  return recordMac(integrityKey(args.integrity), args.record);
}

export function recordVerifyOp(args: {
  integrity: Uint8Array;
  record: RecordMacInput;
  mac: Uint8Array;
}): boolean {
  return verifyRecordMac(integrityKey(args.integrity), args.record, args.mac);
}
