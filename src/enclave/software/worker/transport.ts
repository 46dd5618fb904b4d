// The cluster transport key inside the worker: made and checked sealed under a binding of its own,
// and unsealed (then kept while the sealed blob is the same) to open replicas wrapped to this node.
import { KeymeshError } from '../../../errors.js';
import { equalBytes, ownedCopy } from '../../crypto/bytes.js';
import { seal, unseal, type SealBinding } from '../../crypto/seal.js';
import { generateTransportKeyPair, transportPublicKey } from '../../crypto/wrap.js';
import type { ClusterContext } from '../protocol.js';
import { key, state } from './state.js';

/**
 * The transport secret is sealed like a key, under a binding no key record can have (key ids
 * never start with "@"), and with its own kind, so neither blob can stand in for the other. The
 * AD format names a signing algorithm; "ed25519" stands for its Montgomery twin X25519 here.
 */
const TRANSPORT_BINDING: SealBinding = { keyId: '@transport', version: 1, algorithm: 'ed25519' };
const TRANSPORT_KIND = 0x10;

export function cluster(): ClusterContext {
  if (!state.clusterCtx) throw new KeymeshError('INVALID_REQUEST', 'replicas exist only in cluster mode');
  return state.clusterCtx;
}

export function transportSecret(): Uint8Array {
  const c = cluster();
  if (state.transport && equalBytes(state.transport.sealed, c.transportSealed)) return state.transport.secret;
  const { kind, body } = unseal(key(), TRANSPORT_BINDING, c.transportSealed);
  if (kind !== TRANSPORT_KIND || body.length !== 32) {
    body.fill(0);
    throw new KeymeshError('ENCLAVE_FAILURE', 'the transport key is not usable');
  }
  state.transport?.secret.fill(0);
  state.transport = { sealed: ownedCopy(c.transportSealed), secret: body };
  return body;
}

/** Make (no `sealed`) or check (with it) the sealed transport key; returns its public half. */
export function transportOp(args: { sealed?: Uint8Array }): { sealed: Uint8Array; publicKey: Uint8Array } {
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
