// The heaviest inputs the wallet-signing routes accept, and the ones just past their bounds, for
// the bounded-work tests (test/e2e/bounded-work.test.ts) and `npm run bench` (bench/stalls.ts):
//
// - EIP-712 typed data whose struct types all reference each other (126 types of 128 array
//   fields), so that the type encoding of any of them is ~160 KB, with 2,000 instances of a small
//   struct that pulls that encoding in. Unbounded, every instance rehashed the whole type set.
// - PSBTs at 1,000 inputs: P2PKH with the whole previous transaction (nonWitnessUtxo, each hashed
//   to check its txid, and a legacy sighash over the whole transaction per input), filling the
//   body limit; and P2WPKH, the common case.
import { createHash } from 'node:crypto';
import { p2pkh, p2wpkh, Transaction } from '@scure/btc-signer';

export const REGTEST = { bech32: 'bcrt', pubKeyHash: 0x6f, scriptHash: 0xc4, wif: 0xef };

/** A deterministic 32-byte value from a label and a number. */
function h32(label: string, n: number): Uint8Array {
  return new Uint8Array(createHash('sha256').update(`${label}:${n}`).digest());
}

export interface TypedDataShape {
  /** Struct types that reference each other (each of `fields` array fields of the next types). */
  types: number;
  fields: number;
  /** Instances of the small struct `S { T0[] t }` in the message. */
  instances: number;
  /**
   * How many of the big types the message instantiates directly (one empty instance each), so
   * that each one's type encoding must be computed: 0 for the published attack.
   */
  distinctBig?: number;
}

/** The published attack: 126 types × 128 array fields, 2,000 empty instances (~507 KB of JSON). */
export const ATTACK_TYPED_DATA: TypedDataShape = { types: 126, fields: 128, instances: 2000 };

/** EIP-712 typed data of the given shape (an object, as a JSON body carries it). */
export function heavyTypedData(shape: TypedDataShape): {
  types: Record<string, { name: string; type: string }[]>;
  primaryType: string;
  domain: Record<string, unknown>;
  message: Record<string, unknown>;
} {
  const types: Record<string, { name: string; type: string }[]> = {};
  for (let i = 0; i < shape.types; i++)
    types[`T${i}`] = Array.from({ length: shape.fields }, (_, k) => ({
      name: `f${k}`,
      type: `T${(i + k + 1) % shape.types}[]`,
    }));
  types.S = [{ name: 't', type: 'T0[]' }];
  const half = Math.ceil(shape.instances / 2);
  const big = shape.distinctBig ?? 0;
  types.P = [
    { name: 'a', type: 'S[]' },
    { name: 'b', type: 'S[]' },
    ...Array.from({ length: big }, (_, i) => ({ name: `g${i}`, type: `T${i}` })),
  ];
  const message: Record<string, unknown> = {
    a: Array.from({ length: half }, () => ({ t: [] })),
    b: Array.from({ length: shape.instances - half }, () => ({ t: [] })),
  };
  for (let i = 0; i < big; i++)
    message[`g${i}`] = Object.fromEntries(Array.from({ length: shape.fields }, (_, k) => [`f${k}`, []]));
  return { types, primaryType: 'P', domain: { name: 'Heavy', chainId: 1 }, message };
}

export interface PsbtShape {
  kind: 'p2pkh' | 'p2wpkh';
  inputs: number;
  /** P2PKH: padding outputs in each previous transaction, to fill the body limit. */
  prevOutputs?: number;
}

/**
 * A PSBT (base64) of `inputs` inputs all paying to `publicKey` (33 bytes), on regtest, with one
 * output back to it. P2PKH inputs carry their whole previous transaction.
 */
export function heavyPsbt(publicKey: Uint8Array, shape: PsbtShape): string {
  const tx = new Transaction({ allowUnknownOutputs: true });
  const pkh = p2pkh(publicKey, REGTEST);
  const wpkh = p2wpkh(publicKey, REGTEST);
  for (let i = 0; i < shape.inputs; i++) {
    if (shape.kind === 'p2wpkh') {
      tx.addInput({
        txid: h32('wpkh', i),
        index: 0,
        witnessUtxo: { script: wpkh.script, amount: 10_000n },
      });
      continue;
    }
    // The previous transaction: one input, the output this PSBT spends, then padding outputs.
    const prev = new Transaction({ allowUnknownOutputs: true });
    prev.addInput({ txid: h32('prev', i), index: 0, finalScriptSig: new Uint8Array(0) });
    prev.addOutput({ script: pkh.script, amount: 10_000n });
    for (let k = 0; k < (shape.prevOutputs ?? 0); k++) prev.addOutput({ script: pkh.script, amount: 1n });
    const raw = prev.toBytes(true, false);
    tx.addInput({ txid: prev.id, index: 0, nonWitnessUtxo: raw });
  }
  tx.addOutput({ script: wpkh.script, amount: BigInt(shape.inputs) * 9_000n });
  return Buffer.from(tx.toPSBT()).toString('base64');
}

/** The largest P2PKH PSBT with 1,000 inputs whose JSON body stays under 1 MiB. */
export const MAX_P2PKH_PSBT: PsbtShape = { kind: 'p2pkh', inputs: 1000, prevOutputs: 19 };
