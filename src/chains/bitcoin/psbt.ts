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
// Everything in a PSBT is hostile input: size and counts are bounded, parse failures, inputs
// without UTXO data, unknown sighash types and keys or paths of another network are INVALID_REQUEST
// naming the input.
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { base64 } from '@scure/base';
import { Address, OutScript } from '@scure/btc-signer/payment.js';
import { RawPSBTV0, RawPSBTV2 } from '@scure/btc-signer/psbt.js';
import { getPrevOut, Transaction, type TxOpts } from '@scure/btc-signer/transaction.js';
import { hash160, sha256 } from '@scure/btc-signer/utils.js';
import { invalid, KeymeshError } from '../../errors.js';
import { verifyEcdsa, verifySchnorr } from '../public-ops.js';
import { formatPath, HARDENED_OFFSET, MAX_PATH_DEPTH } from '../../hd/path.js';
import { checkCompressedKey, taprootOutputKey } from './address.js';
import {
  keyFamily,
  NETWORK_PARAMS,
  XPUB_VERSION_FAMILY,
  type BitcoinNetwork,
  type KeyFamily,
} from './network.js';
import { SighashCache } from './sighash.js';

/** Base64 text of at most 1 MiB (a PSBT of about 768 KiB). */
export const MAX_PSBT_BASE64 = 1024 * 1024;
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

// Parse options: keep fields we do not understand (a Signer must pass them on, BIP174), accept
// outputs and inputs of any script (we only sign what we recognise). Script consistency
// (redeemScript and witnessScript hashes, taproot commitments) is checked below for the inputs we
// sign rather than by the parser for every input: the parser's taproot check costs a point
// operation per input, whoever's it is.
const TX_OPTS: TxOpts = {
  unknown: 'ignore',
  allowUnknownOutputs: true,
  allowUnknownInputs: true,
  allowUnknownVersion: true,
  disableScriptCheck: true,
};

type Input = ReturnType<Transaction['getInput']>;
type Output = ReturnType<Transaction['getOutput']>;

const eq = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
const toHexStr = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

function decodeBase64(value: unknown): Uint8Array {
  if (typeof value !== 'string') throw invalid('psbt must be a base64 string');
  if (value.length > MAX_PSBT_BASE64)
    throw invalid(`psbt is longer than ${MAX_PSBT_BASE64} base64 characters`);
  if (value.length === 0 || value.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(value))
    throw invalid('psbt must be standard base64 (A-Z a-z 0-9 + /, padded with =)');
  let bytes: Uint8Array;
  try {
    bytes = base64.decode(value);
  } catch {
    throw invalid('psbt is not valid base64');
  }
  // BIP174: magic bytes "psbt" followed by the separator 0xff.
  if (
    bytes.length < 5 ||
    bytes[0] !== 0x70 ||
    bytes[1] !== 0x73 ||
    bytes[2] !== 0x62 ||
    bytes[3] !== 0x74 ||
    bytes[4] !== 0xff
  )
    throw invalid('psbt does not start with the BIP174 magic bytes');
  return bytes;
}

function libraryReason(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.replace(/\s+/g, ' ').slice(0, 160);
}

function parsePsbt(bytes: Uint8Array): Transaction {
  try {
    return Transaction.fromPSBT(bytes, TX_OPTS);
  } catch (e) {
    throw invalid(`psbt is not a valid BIP174 PSBT: ${libraryReason(e)}`);
  }
}

/** Global xpubs (PSBT_GLOBAL_XPUB): their version bytes name a network. */
function globalXpubVersions(bytes: Uint8Array): number[] {
  let raw: { global: { xpub?: [{ version: number }, unknown][] } };
  try {
    raw = RawPSBTV0.decode(bytes) as typeof raw;
  } catch {
    try {
      raw = RawPSBTV2.decode(bytes) as typeof raw;
    } catch {
      return [];
    }
  }
  return (raw.global.xpub ?? []).map(([x]) => x.version);
}

// BIP44-family purposes whose second level is a SLIP-44 coin type (0' bitcoin, 1' every testnet).
const COIN_TYPE_PURPOSES = new Set([44, 45, 48, 49, 84, 86].map((p) => p + HARDENED_OFFSET));

function pathFamily(path: readonly number[]): KeyFamily | 'other' | undefined {
  if (path.length < 2 || !COIN_TYPE_PURPOSES.has(path[0]!)) return undefined;
  if (path[1] === HARDENED_OFFSET) return 'main';
  if (path[1] === HARDENED_OFFSET + 1) return 'test';
  return 'other';
}

function checkNetwork(bytes: Uint8Array, inputs: Input[], outputs: Output[], network: BitcoinNetwork): void {
  const want = keyFamily(network);
  for (const v of globalXpubVersions(bytes)) {
    const fam = XPUB_VERSION_FAMILY.get(v);
    if (fam !== undefined && fam !== want)
      throw invalid(
        `psbt has a global extended public key for ${fam === 'main' ? 'mainnet' : 'a test network'}, not ${network}`,
      );
  }
  const check = (where: string, paths: (readonly number[])[]) => {
    for (const p of paths) {
      const fam = pathFamily(p);
      if (fam === undefined || fam === want) continue;
      const shown = p.length <= MAX_PATH_DEPTH ? formatPath(p) : 'a derivation path';
      throw invalid(
        fam === 'other'
          ? `psbt ${where} has ${shown}, whose coin type is not Bitcoin's`
          : `psbt ${where} has ${shown}, a ${fam === 'main' ? 'mainnet' : 'test network'} path, not ${network}`,
      );
    }
  };
  const derPaths = (x: Input | Output) => [
    ...(x.bip32Derivation ?? []).map(([, d]) => d.path),
    ...(x.tapBip32Derivation ?? []).map(([, d]) => d.der.path),
  ];
  inputs.forEach((inp, i) => check(`input ${i}`, derPaths(inp)));
  outputs.forEach((out, i) => check(`output ${i}`, derPaths(out)));
}

function isFinalized(input: Input): boolean {
  return !!(input.finalScriptSig?.length || input.finalScriptWitness?.length);
}

interface Classified {
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

type DecodedScript = ReturnType<typeof OutScript.decode>;

function decodeScript(script: Uint8Array | undefined): DecodedScript | undefined {
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
function classify(index: number, input: Input, prevScript: Uint8Array): Classified | undefined {
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

function ecdsaKeyMatches(c: Classified, pub: Uint8Array): boolean {
  if (pub.length !== 33) return false; // segwit v0 requires compressed keys (BIP143 policy)
  if (c.keyHash) return eq(hash160(pub), c.keyHash);
  if (c.scriptKeys) return c.scriptKeys.some((k) => eq(k, pub));
  if (c.scriptKeyHash) return eq(hash160(pub), c.scriptKeyHash);
  return false;
}

// Output keys by internal key and merkle root, per plan: lifting an x-only key costs a modular
// square root (the dominant cost of planning large taproot PSBTs), and inputs often share keys.
type TweakMemo = Map<string, Uint8Array | null>;

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

function taprootKeyMatches(
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
