// Which inputs of a PSBT a key can sign: the script each input spends (P2WPKH, P2SH-P2WPKH, P2WSH
// and P2SH-P2WSH multisig or single-key scripts, P2TR key path, P2PKH with the full previous
// transaction), with redeemScript and witnessScript checked against the output they claim, and
// whether a public key is the one that script names (taproot output keys memoised per plan).
import { OutScript } from '@scure/btc-signer/payment.js';
import { hash160, sha256 } from '@scure/btc-signer/utils.js';
import { invalid } from '../../../errors.js';
import { taprootOutputKey } from '../address.js';
import type { PsbtInputKind, PsbtPlanOptions } from '../psbt.js';
import type { Input } from './parse.js';

export const eq = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);
export const toHexStr = (b: Uint8Array): string =>
  Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

export interface Classified {
  kind: PsbtInputKind;
  /** For key-hash kinds: the 20-byte HASH160 the key must match. */
  keyHash?: Uint8Array;
  /** For P2WSH kinds: the witness script and the keys it names. */
  witnessScript?: Uint8Array;
  scriptKeys?: Uint8Array[];
  scriptKeyHash?: Uint8Array;
  /** For P2TR: the 32-byte output key. */
  outputKey?: Uint8Array;
}

export type DecodedScript = ReturnType<typeof OutScript.decode>;

export function decodeScript(script: Uint8Array | undefined): DecodedScript | undefined {
  if (!script) return undefined;
  try {
    return OutScript.decode(script) as DecodedScript;
  } catch {
    return undefined;
  }
}

function classifyWitnessScript(
  index: number,
  kind: 'p2wsh' | 'p2sh-p2wsh',
  programHash: Uint8Array,
  ws: Uint8Array | undefined,
): Classified | undefined {
  if (!ws) return undefined;
  // BIP141: the P2WSH program is SHA256(witnessScript).
  if (!eq(sha256(ws), programHash))
    throw invalid(`psbt input ${index} has a witnessScript that does not match its output`);
  const s = decodeScript(ws);
  if (!s) return undefined;
  if (s.type === 'ms') return { kind, witnessScript: ws, scriptKeys: s.pubkeys };
  if (s.type === 'pk') return { kind, witnessScript: ws, scriptKeys: [s.pubkey] };
  if (s.type === 'pkh') return { kind, witnessScript: ws, scriptKeyHash: s.hash };
  return undefined;
}

/** What kind of input this is, if it is one we can sign. */
export function classify(index: number, input: Input, prevScript: Uint8Array): Classified | undefined {
  const s = decodeScript(prevScript);
  if (!s) return undefined;
  switch (s.type) {
    case 'wpkh':
      return { kind: 'p2wpkh', keyHash: s.hash };
    case 'tr':
      return { kind: 'p2tr', outputKey: s.pubkey };
    case 'wsh':
      return classifyWitnessScript(index, 'p2wsh', s.hash, input.witnessScript);
    case 'pkh':
      // Legacy sighashes do not commit to the amount: sign only with the full previous tx.
      return input.nonWitnessUtxo ? { kind: 'p2pkh', keyHash: s.hash } : undefined;
    case 'sh': {
      if (!input.redeemScript) return undefined;
      // BIP16: the P2SH hash is HASH160(redeemScript).
      if (!eq(hash160(input.redeemScript), s.hash))
        throw invalid(`psbt input ${index} has a redeemScript that does not match its output`);
      const r = decodeScript(input.redeemScript);
      if (r?.type === 'wpkh') return { kind: 'p2sh-p2wpkh', keyHash: r.hash };
      if (r?.type === 'wsh') return classifyWitnessScript(index, 'p2sh-p2wsh', r.hash, input.witnessScript);
      return undefined;
    }
    default:
      return undefined;
  }
}

export function ecdsaKeyMatches(c: Classified, pub: Uint8Array): boolean {
  if (pub.length !== 33) return false; // segwit v0 requires compressed keys (BIP143 policy)
  if (c.keyHash) return eq(hash160(pub), c.keyHash);
  if (c.scriptKeys) return c.scriptKeys.some((k) => eq(k, pub));
  if (c.scriptKeyHash) return eq(hash160(pub), c.scriptKeyHash);
  return false;
}

// Output keys by internal key and merkle root, per plan: lifting an x-only key costs a modular
// square root (the dominant cost of planning large taproot PSBTs), and inputs often share keys.
export type TweakMemo = Map<string, Uint8Array | null>;

function outputKeyOf(memo: TweakMemo, xonly: Uint8Array, root: Uint8Array | undefined): Uint8Array | null {
  const k = toHexStr(xonly) + (root ? toHexStr(root) : '');
  let v = memo.get(k);
  if (v === undefined) {
    try {
      v = taprootOutputKey(xonly, root).outputKey;
    } catch {
      v = null;
    }
    memo.set(k, v);
  }
  return v;
}

export function taprootKeyMatches(
  c: Classified,
  input: Input,
  xonly: Uint8Array,
  opts: PsbtPlanOptions,
  memo: TweakMemo,
): boolean {
  // By default, key-path spends of BIP86 outputs only: the enclave's 'schnorr-taproot' applies the
  // tweak with no script tree. An output with a script tree is signable on its key path only by
  // an enclave that takes the merkle root (opts.scriptTreeKeyPath).
  const root = input.tapMerkleRoot && input.tapMerkleRoot.length ? input.tapMerkleRoot : undefined;
  if (root && !opts.scriptTreeKeyPath) return false;
  if (input.tapInternalKey && !eq(input.tapInternalKey, xonly)) return false;
  const q = outputKeyOf(memo, xonly, root);
  return q !== null && eq(q, c.outputKey!);
}
