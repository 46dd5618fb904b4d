// The first steps every wallet-signing operation shares (ethereum-*.ts, bitcoin-psbt.ts): find
// the key, check its state allows signing and that it is a secp256k1 key, and read the optional
// HD `path`. Kept in one place so that the four operations refuse the same things the same way.
import { ethereumAddress } from '../../chains/ethereum/address.js';
import { parseAddress } from '../../chains/ethereum/fields.js';
import type { SignRequest } from '../../enclave/enclave.js';
import { invalid, KeymeshError, notFound } from '../../errors.js';
import { toHex } from '../../util/bytes.js';
import { isId } from '../../util/ids.js';
import type { OpContext } from '../context.js';
import { parseKeyPath } from '../keys/input.js';
import { type KeyMaterial, type KeyRecord, loadKeyForUse } from '../keys/record.js';
import { materialRef } from '../pipeline/material.js';
import { assertUsable } from '../keys/states.js';

export interface ChainSigner {
  record: KeyRecord;
  /** What this node has of the key's private material (keys/record.ts). */
  material: KeyMaterial;
  /** The canonical form of the caller's `path` (`'` for hardened), when one was given. */
  path?: string;
  /** 33-byte compressed public key of the key that signs: the key itself, or its child at `path`. */
  publicKey?: Uint8Array;
  /** EIP-55 address of that key. Both are absent only for an HD root signing a PSBT without a path. */
  address?: string;
}

/**
 * A caller that names the signing address (JSON-RPC's account, resolved through the address index
 * in the store) gets a signature by exactly that address or none: the key and path it resolved to
 * must derive it. So an address index edited in the store cannot make another child of the same
 * root sign in that address's name. Checked before anything is audited as allowed.
 */
export function expectSigner(signer: ChainSigner, from: unknown, field: string): void {
  if (from === undefined) return;
  const want = parseAddress(field, from);
  if (signer.address !== want)
    throw invalid(`${field} is not the address of this key${signer.path ? ` at ${signer.path}` : ''}`);
}

/**
 * Load key `id` for a wallet signature: usable for signing, secp256k1, `path` well-formed. A path
 * needs an HD root, and an HD root needs a path (refused here, before anything is audited as
 * allowed), unless `opts.hdRootWithoutPath`: a PSBT names its paths per input.
 */
export async function loadChainSigner(
  ctx: OpContext,
  id: string,
  path: unknown,
  opts: { hdRootWithoutPath?: boolean } = {},
): Promise<ChainSigner> {
  if (!isId(id)) throw notFound('key');
  const key = await loadKeyForUse(ctx.deps.store, id);
  const { record, material } = key;
  assertUsable(record.state, 'sign');
  if (record.algorithm !== 'secp256k1')
    throw new KeymeshError(
      'UNSUPPORTED',
      `Ethereum and Bitcoin signatures need a secp256k1 key; this key is ${record.algorithm}.`,
    );
  if (record.hd && opts.hdRootWithoutPath && (path === undefined || path === null))
    return { record, material };
  if (path !== undefined && path !== null) {
    // The HD rules (core/keys/input.ts), and normalised so that the audit entry and the enclave see
    // one spelling of the same path. The child's public key is derived now, before anything is
    // audited or signed, so that a `from` naming another address is refused first and the
    // signature is checked against the child it must come from.
    const canonical = parseKeyPath(record, path)!;
    const child = await ctx.deps.enclave.derive(materialRef(key), canonical);
    return {
      record,
      material,
      path: canonical,
      publicKey: child.publicKey,
      address: ethereumAddressOf(toHex(child.publicKey)),
    };
  }
  parseKeyPath(record, path); // an HD root without a path: 400
  const publicKey = new Uint8Array(Buffer.from(record.publicKey.slice(2), 'hex'));
  return { record, material, publicKey, address: ethereumAddressOf(record.publicKey) };
}

const ADDRESS_MEMO_LIMIT = 100_000;
const addresses = new Map<string, string>();

/** EIP-55 address of a stored compressed public key (0x hex), remembered: it costs a point decompression. */
export function ethereumAddressOf(publicKeyHex: string): string {
  let a = addresses.get(publicKeyHex);
  if (a === undefined) {
    a = ethereumAddress(new Uint8Array(Buffer.from(publicKeyHex.slice(2), 'hex')));
    if (addresses.size >= ADDRESS_MEMO_LIMIT) addresses.clear();
    addresses.set(publicKeyHex, a);
  }
  return a;
}

/** Ask the enclave for one secp256k1 signature over `digest` with this signer. */
export function enclaveSign(
  ctx: OpContext,
  signer: ChainSigner,
  digest: Uint8Array,
  scheme: 'ecdsa' | 'schnorr-taproot',
  path = signer.path,
) {
  const req: SignRequest = { digest, scheme, ...(path !== undefined ? { path } : {}) };
  return ctx.deps.enclave.sign(materialRef(signer), req);
}
