// GET /v1/keys/{id}/derive?path=...: the public key and addresses of an HD root's child, derived
// inside the enclave (BIP32 for secp256k1, SLIP-10 hardened-only for ed25519); no private key
// leaves it. For secp256k1 the answer also carries the child's extended public key (xpub), so
// `path=m/84'/0'/0'` gives the account-level xpub a watch-only wallet wants.
//
// A derivation is a use of the key: audited as allowed before the enclave is asked, refused for a
// destroyed key like any use (a deactivated or compromised root still derives: public data only,
// as verification is). Each derived secp256k1 child's Ethereum address is recorded for the
// JSON-RPC signer's account list (accounts.ts).
import { keyAddresses, type KeyAddresses } from '../../chains/addresses.js';
import { invalid, notFound } from '../../errors.js';
import { encodeXpub } from '../../hd/bip32.js';
import { formatPath, parsePath } from '../../hd/path.js';
import { toHex } from '../../util/bytes.js';
import { isId } from '../../util/ids.js';
import { auditAllowed, type OpContext } from '../context.js';
import { recordDerivedEthereumAccount } from './accounts.js';
import { loadKeyForUse } from './record.js';
import { materialRef } from '../pipeline/material.js';
import { assertUsable } from './states.js';

export interface DerivedView {
  /** The canonical path (`'` for hardened steps). */
  path: string;
  /** secp256k1: 33-byte compressed; ed25519: 32 bytes. */
  publicKey: string;
  /** secp256k1: Ethereum (EIP-55) and Bitcoin P2WPKH / P2TR (BIP86) per network; ed25519: {}. */
  addresses: KeyAddresses;
  /** secp256k1: the child's BIP32 extended public key (mainnet version bytes). */
  xpub?: string;
}

export async function deriveKey(ctx: OpContext, id: string, path: unknown): Promise<DerivedView> {
  if (!isId(id)) throw notFound('key');
  const key = await loadKeyForUse(ctx.deps.store, id);
  const { record } = key;
  assertUsable(record.state, 'derive');
  if (!record.hd) throw invalid('derive needs an HD root; this key is a single private key');
  if (path === undefined || path === null) throw invalid("path is required, e.g. m/44'/60'/0'/0/0");
  const canonical = formatPath(parsePath(path, 'path'));
  await auditAllowed(ctx, id, { path: canonical });
  const child = await ctx.deps.enclave.derive(materialRef(key), canonical);
  const addresses = keyAddresses(record.algorithm, child.publicKey);
  const out: DerivedView = { path: canonical, publicKey: toHex(child.publicKey), addresses };
  if (record.algorithm === 'secp256k1' && child.chainCode && child.parentFingerprint) {
    out.xpub = encodeXpub({
      depth: child.depth ?? 0,
      index: child.index ?? 0,
      parentFingerprint: Buffer.from(child.parentFingerprint).readUInt32BE(0),
      fingerprint: 0, // not part of the serialisation
      chainCode: child.chainCode,
      publicKey: child.publicKey,
    });
    await recordDerivedEthereumAccount(ctx.deps.store, id, canonical, addresses.ethereum!);
  }
  return out;
}
