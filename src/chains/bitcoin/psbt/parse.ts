// Reading a PSBT that is hostile input: standard base64 of bounded size with BIP174's magic bytes,
// parsed by @scure/btc-signer keeping what it does not understand, and the network check (global
// xpub versions and BIP44-family derivation paths of another network are refused, naming where).
import { base64 } from '@scure/base';
import { RawPSBTV0, RawPSBTV2 } from '@scure/btc-signer/psbt.js';
import { Transaction, type TxOpts } from '@scure/btc-signer/transaction.js';
import { invalid } from '../../../errors.js';
import { formatPath, HARDENED_OFFSET, MAX_PATH_DEPTH } from '../../../hd/path.js';
import { keyFamily, XPUB_VERSION_FAMILY, type BitcoinNetwork, type KeyFamily } from '../network.js';

/** Base64 text of at most 1 MiB (a PSBT of about 768 KiB). */
export const MAX_PSBT_BASE64 = 1024 * 1024;

// Parse options: keep fields we do not understand (a Signer must pass them on, BIP174), accept
// outputs and inputs of any script (we only sign what we recognise). Script consistency
// (redeemScript and witnessScript hashes, taproot commitments) is checked (psbt/inputs.ts) for the inputs we
// sign rather than by the parser for every input: the parser's taproot check costs a point
// operation per input, whoever's it is.
const TX_OPTS: TxOpts = {
  unknown: 'ignore',
  allowUnknownOutputs: true,
  allowUnknownInputs: true,
  allowUnknownVersion: true,
  disableScriptCheck: true,
};

export type Input = ReturnType<Transaction['getInput']>;
export type Output = ReturnType<Transaction['getOutput']>;

export function decodeBase64(value: unknown): Uint8Array {
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

export function libraryReason(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.replace(/\s+/g, ' ').slice(0, 160);
}

export function parsePsbt(bytes: Uint8Array): Transaction {
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

export function checkNetwork(
  bytes: Uint8Array,
  inputs: Input[],
  outputs: Output[],
  network: BitcoinNetwork,
): void {
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
