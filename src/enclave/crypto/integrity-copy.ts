// Who wrapped a copy of the cluster integrity key (src/cluster/integrity.ts). Wrapping
// (crypto/wrap.ts) is to a public key and names no sender, so a copy alone could come from anyone
// who can write to etcd. Each copy therefore also carries a tag only the wrapping node's enclave
// and the recipient's can compute, from a static-static X25519 agreement of their two attested
// transport keys (the idea of HPKE's Auth mode, RFC 9180 §5.1.3, as a MAC over the sealed copy):
//
//   ss   = X25519(sender transport secret, recipient transport public)
//        = X25519(recipient transport secret, sender transport public)         (RFC 7748 §6.1)
//   k    = HKDF-SHA256(ikm = ss, salt = lp("keymesh/integrity-copy/v1"),
//                      info = lp(senderId) ‖ lp(recipientId) ‖ lp(pkS) ‖ lp(pkR), 32)  (RFC 5869)
//   tag  = HMAC-SHA256(k, lp(wrapped))                                  (RFC 2104, FIPS 198-1)
//
// The recipient's enclave takes pkS from the sender's attestation, verified against the cluster CA
// (attestation.ts), never from the node side, and compares tags in constant time. Node ids are
// bound so a tag made for one recipient or by one sender is no other's. ss and k are zeroed after
// use. Inputs are checked with explicit lengths.
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { KeymeshError } from '../../errors.js';
import { checkBytes, concatBytes, equalBytes, lengthPrefixed } from './bytes.js';
import { hkdfSha256, MAX_WRAPPED_BYTES, x25519SharedSecret, X25519_KEY_BYTES } from './wrap.js';

export const COPY_TAG_BYTES = 32;
const DOMAIN = new TextEncoder().encode('keymesh/integrity-copy/v1');
const NODE_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export interface CopyParties {
  senderId: string;
  recipientId: string;
  /** Both transport public keys, 32 bytes each. */
  senderPublicKey: Uint8Array;
  recipientPublicKey: Uint8Array;
}

function tagWith(
  ownSecret: Uint8Array,
  peerPublic: Uint8Array,
  p: CopyParties,
  wrapped: Uint8Array,
): Uint8Array {
  for (const id of [p.senderId, p.recipientId])
    if (typeof id !== 'string' || !NODE_ID_RE.test(id))
      throw new KeymeshError('INVALID_REQUEST', 'node ids must be 1 to 63 characters of A-Z a-z 0-9 ._-');
  checkBytes('sender transport public key', p.senderPublicKey, X25519_KEY_BYTES);
  checkBytes('recipient transport public key', p.recipientPublicKey, X25519_KEY_BYTES);
  checkBytes('wrapped copy', wrapped);
  if (wrapped.length > MAX_WRAPPED_BYTES)
    throw new KeymeshError('INVALID_REQUEST', 'wrapped copy is too long');
  const te = new TextEncoder();
  const ss = x25519SharedSecret(ownSecret, peerPublic);
  let k: Uint8Array | undefined;
  try {
    k = hkdfSha256(
      ss,
      lengthPrefixed(DOMAIN),
      concatBytes(
        lengthPrefixed(te.encode(p.senderId)),
        lengthPrefixed(te.encode(p.recipientId)),
        lengthPrefixed(p.senderPublicKey),
        lengthPrefixed(p.recipientPublicKey),
      ),
      32,
    );
    return hmac(sha256, k, lengthPrefixed(wrapped));
  } finally {
    ss.fill(0);
    k?.fill(0);
  }
}

/** The sender's tag over a copy it wrapped to the recipient. */
export function copyTag(senderSecret: Uint8Array, p: CopyParties, wrapped: Uint8Array): Uint8Array {
  return tagWith(senderSecret, p.recipientPublicKey, p, wrapped);
}

/** Whether `tag` is the sender's tag over this copy, checked by the recipient; constant-time. */
export function verifyCopyTag(
  recipientSecret: Uint8Array,
  p: CopyParties,
  wrapped: Uint8Array,
  tag: Uint8Array,
): boolean {
  checkBytes('copy tag', tag);
  const want = tagWith(recipientSecret, p.senderPublicKey, p, wrapped);
  try {
    return tag.length === COPY_TAG_BYTES && equalBytes(want, tag);
  } finally {
    want.fill(0);
  }
}
