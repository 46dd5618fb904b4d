// Fixed inputs the per-operation tests share: a private key and a mnemonic whose public keys the
// independent libraries compute, and hex helpers.
import { createHash } from 'node:crypto';

export const hex = (b: Uint8Array): string => '0x' + Buffer.from(b).toString('hex');
export const unhex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/^0x/, ''), 'hex'));

/** A secp256k1 private key (32 bytes) derived from a label. */
export const privateKey = (label: string): Uint8Array =>
  Uint8Array.from(createHash('sha256').update(`keymesh core test ${label}`).digest());

/** BIP39's all-zero-entropy 24-word test mnemonic. */
export const ABANDON =
  'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon ' +
  'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon art';

export const ETH0 = "m/44'/60'/0'/0/0";
