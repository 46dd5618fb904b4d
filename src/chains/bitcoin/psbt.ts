// PSBT signing (BIP174, PSBTv0 and BIP370 v2) in two steps that keep private keys out of the node:
//
//   1. planPsbtSigning(base64, network, signer) parses and checks the PSBT, finds the inputs this
//      signer can sign and computes, for each, the 32-byte digest to sign:
//        P2WPKH, P2SH-P2WPKH     BIP143 with scriptCode = OP_DUP OP_HASH160 <keyhash> OP_EQUALVERIFY OP_CHECKSIG
//        P2WSH, P2SH-P2WSH       BIP143 with scriptCode = witnessScript (multisig or single-key scripts)
//        P2TR key path (BIP86)   BIP341 SigMsg/TapSighash, SIGHASH_DEFAULT or any other valid type
//        P2PKH                   legacy sighash, only with the full previous transaction
//      An input is this signer's when a single key's public key matches its script (key hash,
//      multisig member, or BIP86 output key), or when an HD root's master fingerprint appears in its
//      bip32Derivation / tapBip32Derivation (key-path entry) with a key that matches the script.
//   2. The enclave signs each digest (scheme 'ecdsa', or 'schnorr-taproot': BIP340 with the BIP86
//      tweak applied to the key derived at `path`).
//   3. applyPsbtSignatures(plan, results) checks every signature against the key and digest it was
//      for, and writes partialSig (DER + sighash byte) or tapKeySig (64 bytes, + sighash byte unless
//      DEFAULT). It returns the PSBT, base64, and the indices it signed. Finalizing is left to the
//      wallet (BIP174 roles: Keymesh is a Signer).
//
// Segwit digests come from sighash.ts (BIP143 / BIP341 with the per-transaction hashes computed
// once; cross-checked in the tests against @scure/btc-signer's Transaction.preimageWitnessV0/V1,
// BIP341's vectors and bitcoinjs-lib). Legacy P2PKH digests too (cross-checked against
// btc-signer's preimageLegacy, which reserializes the whole transaction per input).
//
// The parts: psbt/parse.ts reads and checks the PSBT (size, encoding, network), psbt/inputs.ts
// decides which inputs a key can sign; this file plans the digests and applies the signatures.
//
// Everything in a PSBT is hostile input: size and counts are bounded, parse failures, inputs
// without UTXO data, unknown sighash types and keys or paths of another network are INVALID_REQUEST
// naming the input.
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { base64 } from '@scure/base';
import { Address, OutScript } from '@scure/btc-signer/payment.js';
import { getPrevOut } from '@scure/btc-signer/transaction.js';
import { invalid, KeymeshError } from '../../errors.js';
import { verifyEcdsa, verifySchnorr } from '../public-ops.js';
import { formatPath, MAX_PATH_DEPTH } from '../../hd/path.js';
import { checkCompressedKey, taprootOutputKey } from './address.js';
import { NETWORK_PARAMS, type BitcoinNetwork } from './network.js';
import { SighashCache } from './sighash.js';
import {
  classify,
  decodeScript,
  ecdsaKeyMatches,
  eq,
  taprootKeyMatches,
  toHexStr,
  type TweakMemo,
} from './psbt/inputs.js';
import {
  checkNetwork,
  decodeBase64,
  libraryReason,
  parsePsbt,
  type Input,
  type Output,
} from './psbt/parse.js';

export { MAX_PSBT_BASE64 } from './psbt/parse.js';

export const MAX_PSBT_INPUTS = 1000;
export const MAX_PSBT_OUTPUTS = 1000;

export type PsbtInputKind = 'p2wpkh' | 'p2sh-p2wpkh' | 'p2wsh' | 'p2sh-p2wsh' | 'p2tr' | 'p2pkh';
export type PsbtScheme = 'ecdsa' | 'schnorr-taproot';

/** SIGHASH types (BIP143 / BIP341). DEFAULT exists for taproot only. */
export const SIGHASH = { DEFAULT: 0, ALL: 1, NONE: 2, SINGLE: 3, ANYONECANPAY: 0x80 } as const;
const ECDSA_SIGHASHES = new Set([0x01, 0x02, 0x03, 0x81, 0x82, 0x83]);
const TAPROOT_SIGHASHES = new Set([0x00, 0x01, 0x02, 0x03, 0x81, 0x82, 0x83]);

/** Who is signing: a single key (its public key), an HD root (its master fingerprint), or both. */
export interface PsbtSigner {
  /** 33-byte compressed public key, matched against input scripts. */
  publicKey?: Uint8Array;
  /** BIP32 master fingerprint (big-endian number), matched against derivation records. */
  masterFingerprint?: number;
}

/** One signature to make. */
export interface PsbtSigningRequest {
  /** Input index. */
  index: number;
  kind: PsbtInputKind;
  /** HD roots: the key's path from the root, "m/84'/0'/0'/0/0" (the enclave derives it). */
  path?: string;
  /**
   * The key that must sign: 33-byte compressed for ECDSA, 32-byte x-only internal key for taproot.
   * For path entries this is what the PSBT claims the path derives to; check it (derive and
   * compare with publicKeyMatches) before signing if you want the mismatch reported before the
   * enclave is asked, otherwise applyPsbtSignatures reports it.
   */
  publicKey: Uint8Array;
  /** 32-byte digest for the enclave: sign as given. */
  digest: Uint8Array;
  scheme: PsbtScheme;
  sighashType: number;
  /**
   * Taproot only, and only with PsbtPlanOptions.scriptTreeKeyPath: the script tree's merkle root
   * the key tweak must commit to (BIP341 taproot_tweak_seckey). Absent: the BIP86 tweak.
   */
  merkleRoot?: Uint8Array;
}

export interface PsbtPlanOptions {
  /**
   * Also plan key-path signatures for taproot outputs that commit to a script tree (their
   * request carries merkleRoot). Off by default: the enclave's 'schnorr-taproot' scheme applies
   * the BIP86 tweak only.
   */
  scriptTreeKeyPath?: boolean;
}

export interface PsbtSummary {
  inputs: { index: number; amount: bigint; address?: string; finalized: boolean }[];
  outputs: { index: number; amount: bigint; address?: string; script: string }[];
  fee: bigint;
}

export interface PsbtSigningPlan {
  network: BitcoinNetwork;
  requests: PsbtSigningRequest[];
  summary: PsbtSummary;
  /** The parsed PSBT, for applyPsbtSignatures. */
  readonly psbtBytes: Uint8Array;
}

export interface PsbtSignature {
  signature: Uint8Array; // 64 bytes: ECDSA r‖s (low-s) or BIP340
  recoveryId?: number;
}

function isFinalized(input: Input): boolean {
  return !!(input.finalScriptSig?.length || input.finalScriptWitness?.length);
}

/** Whether a key the enclave derived at a request's path is the one the request names. */
export function publicKeyMatches(request: PsbtSigningRequest, derivedPublicKey: Uint8Array): boolean {
  return request.scheme === 'schnorr-taproot'
    ? derivedPublicKey.length === 33 && eq(derivedPublicKey.subarray(1), request.publicKey)
    : eq(derivedPublicKey, request.publicKey);
}

function checkSighash(index: number, type: number, taproot: boolean, outputs: number): void {
  if (!(taproot ? TAPROOT_SIGHASHES : ECDSA_SIGHASHES).has(type))
    throw invalid(
      `psbt input ${index} asks for sighash type ${type}, which is not valid for ${taproot ? 'taproot' : 'segwit v0 or legacy'} inputs`,
    );
  // SIGHASH_SINGLE without a matching output: BIP341 defines no digest, and the legacy/BIP143
  // "digest of 1" would let the signature be replayed on any transaction.
  if ((type & 0x1f) === SIGHASH.SINGLE && index >= outputs)
    throw invalid(`psbt input ${index} asks for SIGHASH_SINGLE but there is no output ${index}`);
}

function outputAddress(script: Uint8Array, network: BitcoinNetwork): string | undefined {
  const s = decodeScript(script);
  if (!s) return undefined;
  try {
    return Address(NETWORK_PARAMS[network]).encode(s as Parameters<ReturnType<typeof Address>['encode']>[0]);
  } catch {
    return undefined;
  }
}

/**
 * Parse a base64 PSBT and plan the signatures `signer` can add. Throws INVALID_REQUEST for a PSBT
 * that does not parse, is too large, has an input without UTXO data, uses keys or derivation paths
 * of another network, or asks for an invalid sighash on an input this signer would sign.
 */
export function planPsbtSigning(
  psbt: unknown,
  network: BitcoinNetwork,
  signer: PsbtSigner,
  opts: PsbtPlanOptions = {},
): PsbtSigningPlan {
  if (!NETWORK_PARAMS[network]) throw invalid('network must be bitcoin, testnet or regtest');
  if (signer.publicKey !== undefined) checkCompressedKey(signer.publicKey, 'signer public key');
  if (signer.publicKey === undefined && signer.masterFingerprint === undefined)
    throw invalid('a PSBT signer needs a public key or a master fingerprint');
  const bytes = decodeBase64(psbt);
  const tx = parsePsbt(bytes);
  if (tx.inputsLength === 0) throw invalid('psbt has no inputs');
  if (tx.inputsLength > MAX_PSBT_INPUTS) throw invalid(`psbt has more than ${MAX_PSBT_INPUTS} inputs`);
  if (tx.outputsLength > MAX_PSBT_OUTPUTS) throw invalid(`psbt has more than ${MAX_PSBT_OUTPUTS} outputs`);

  const inputs: Input[] = [];
  const outputs: Output[] = [];
  for (let i = 0; i < tx.inputsLength; i++) inputs.push(tx.getInput(i));
  for (let i = 0; i < tx.outputsLength; i++) outputs.push(tx.getOutput(i));
  checkNetwork(bytes, inputs, outputs, network);

  // Every input needs its UTXO: the amounts make the fee, and BIP341 digests commit to all of them.
  const prevouts = inputs.map((input, i) => {
    if (!input.witnessUtxo && !input.nonWitnessUtxo)
      throw invalid(`psbt input ${i} has no UTXO data (witnessUtxo or nonWitnessUtxo)`);
    try {
      return getPrevOut(input);
    } catch (e) {
      throw invalid(`psbt input ${i} has unusable UTXO data: ${libraryReason(e)}`);
    }
  });
  const inTotal = prevouts.reduce((a, p) => a + p.amount, 0n);
  const outTotal = outputs.reduce((a, o) => a + (o.amount ?? 0n), 0n);
  if (outTotal > inTotal) throw invalid('psbt outputs spend more than its inputs hold');

  const summary: PsbtSummary = {
    inputs: prevouts.map((p, index) => {
      const address = outputAddress(p.script, network);
      return {
        index,
        amount: p.amount,
        ...(address ? { address } : {}),
        finalized: isFinalized(inputs[index]!),
      };
    }),
    outputs: outputs.map((o, index) => {
      const script = o.script ?? new Uint8Array(0);
      const address = outputAddress(script, network);
      return { index, amount: o.amount ?? 0n, ...(address ? { address } : {}), script: toHexStr(script) };
    }),
    fee: inTotal - outTotal,
  };

  const fp = signer.masterFingerprint;
  let cache: SighashCache;
  try {
    cache = new SighashCache(
      tx.version,
      tx.lockTime,
      inputs.map((inp, i) => {
        if (!inp.txid || inp.txid.length !== 32 || inp.index === undefined)
          throw new Error(`input ${i} has no previous outpoint`);
        return { txid: inp.txid, index: inp.index, sequence: inp.sequence ?? 0xffffffff };
      }),
      outputs.map((o) => ({ script: o.script ?? new Uint8Array(0), amount: o.amount ?? 0n })),
      prevouts,
    );
  } catch (e) {
    throw invalid(`psbt cannot be signed: ${libraryReason(e)}`);
  }
  const requests: PsbtSigningRequest[] = [];
  const memo: TweakMemo = new Map();

  inputs.forEach((input, index) => {
    if (isFinalized(input)) return;
    const c = classify(index, input, prevouts[index]!.script);
    if (!c) return;
    const taproot = c.kind === 'p2tr';

    // Candidate keys: the single key, and the HD root's derivation records with its fingerprint.
    const candidates: { publicKey: Uint8Array; path?: string }[] = [];
    const seen = new Set<string>();
    const add = (publicKey: Uint8Array, path?: readonly number[]) => {
      const k = toHexStr(publicKey);
      if (seen.has(k)) return;
      if (path !== undefined && path.length > MAX_PATH_DEPTH)
        throw invalid(`psbt input ${index} has a derivation path deeper than ${MAX_PATH_DEPTH} levels`);
      seen.add(k);
      candidates.push({ publicKey, ...(path !== undefined ? { path: formatPath(path) } : {}) });
    };
    if (taproot) {
      if (input.tapKeySig) return; // already signed on the key path
      if (signer.publicKey) add(signer.publicKey.slice(1));
      if (fp !== undefined)
        for (const [xonly, { hashes, der }] of input.tapBip32Derivation ?? [])
          if (der.fingerprint === fp && hashes.length === 0) add(xonly, der.path);
    } else {
      if (signer.publicKey) add(signer.publicKey);
      if (fp !== undefined)
        for (const [pub, der] of input.bip32Derivation ?? []) if (der.fingerprint === fp) add(pub, der.path);
    }
    const signed = new Set((input.partialSig ?? []).map(([pub]) => toHexStr(pub)));
    const mine = candidates.filter((k) =>
      taproot
        ? taprootKeyMatches(c, input, k.publicKey, opts, memo)
        : ecdsaKeyMatches(c, k.publicKey) && !signed.has(toHexStr(k.publicKey)),
    );
    if (mine.length === 0) return;

    const sighashType = input.sighashType ?? (taproot ? SIGHASH.DEFAULT : SIGHASH.ALL);
    checkSighash(index, sighashType, taproot, outputs.length);
    let digest: Uint8Array;
    try {
      if (taproot) {
        digest = cache.taprootKeyPath(index, sighashType);
      } else if (c.kind === 'p2pkh') {
        digest = cache.legacy(index, prevouts[index]!.script, sighashType);
      } else {
        // BIP143: P2WPKH's scriptCode is the P2PKH script of its key hash; P2WSH's is the witness script.
        const scriptCode = c.keyHash ? OutScript.encode({ type: 'pkh', hash: c.keyHash }) : c.witnessScript!;
        digest = cache.witnessV0(index, scriptCode, prevouts[index]!.amount, sighashType);
      }
    } catch (e) {
      throw invalid(`psbt input ${index} cannot be signed: ${libraryReason(e)}`);
    }
    const merkleRoot = taproot && input.tapMerkleRoot?.length ? input.tapMerkleRoot : undefined;
    for (const k of mine) {
      requests.push({
        ...(merkleRoot ? { merkleRoot } : {}),
        index,
        kind: c.kind,
        ...(k.path !== undefined ? { path: k.path } : {}),
        publicKey: k.publicKey,
        digest,
        scheme: taproot ? 'schnorr-taproot' : 'ecdsa',
        sighashType,
      });
    }
  });

  return { network, requests, summary, psbtBytes: bytes };
}

/**
 * Write the enclave's signatures into the PSBT. `results[i]` answers `plan.requests[i]`; an
 * undefined entry leaves that request unsigned (a policy may have refused it). Each signature is
 * verified against the request's key and digest first.
 */
export function applyPsbtSignatures(
  plan: PsbtSigningPlan,
  results: readonly (PsbtSignature | undefined)[],
): { psbt: string; signedInputs: number[] } {
  if (results.length !== plan.requests.length)
    throw new KeymeshError('INTERNAL', 'applyPsbtSignatures needs one result per signing request');
  const tx = parsePsbt(plan.psbtBytes);
  const signedInputs = new Set<number>();
  plan.requests.forEach((req, i) => {
    const res = results[i];
    if (!res) return;
    if (!(res.signature instanceof Uint8Array) || res.signature.length !== 64)
      throw new KeymeshError('ENCLAVE_FAILURE', 'the enclave returned a signature that is not 64 bytes');
    const mismatch = () =>
      req.path !== undefined
        ? invalid(
            `psbt input ${req.index}: the key at ${req.path} is not the public key the PSBT's derivation record names for it`,
          )
        : new KeymeshError(
            'ENCLAVE_FAILURE',
            `the enclave signature for psbt input ${req.index} does not verify`,
          );
    if (req.scheme === 'schnorr-taproot') {
      const { outputKey } = taprootOutputKey(req.publicKey, req.merkleRoot);
      if (!verifySchnorr(res.signature, req.digest, outputKey)) throw mismatch();
      const sig =
        req.sighashType === SIGHASH.DEFAULT
          ? res.signature
          : Uint8Array.of(...res.signature, req.sighashType);
      tx.updateInput(req.index, { tapKeySig: sig }, true);
    } else {
      let parsed;
      try {
        parsed = secp256k1.Signature.fromBytes(res.signature, 'compact');
      } catch {
        throw new KeymeshError('ENCLAVE_FAILURE', 'the enclave returned a malformed ECDSA signature');
      }
      if (parsed.hasHighS())
        throw new KeymeshError('ENCLAVE_FAILURE', 'the enclave returned a high-s signature');
      if (!verifyEcdsa(res.signature, req.digest, req.publicKey)) {
        // With a recovery id, tell a wrong derivation record (the enclave signed with a good key,
        // just not the one the PSBT names) from a broken signature.
        if (req.path !== undefined && (res.recoveryId === 0 || res.recoveryId === 1)) {
          try {
            parsed.addRecoveryBit(res.recoveryId).recoverPublicKey(req.digest);
          } catch {
            throw new KeymeshError(
              'ENCLAVE_FAILURE',
              `the enclave signature for psbt input ${req.index} does not verify`,
            );
          }
        }
        throw mismatch();
      }
      const der = parsed.toBytes('der');
      tx.updateInput(
        req.index,
        { partialSig: [[req.publicKey, Uint8Array.of(...der, req.sighashType)]] },
        true,
      );
    }
    signedInputs.add(req.index);
  });
  return { psbt: base64.encode(tx.toPSBT()), signedInputs: [...signedInputs].sort((a, b) => a - b) };
}
