// Test oracle: BIP39 generation, entropy and seed (bitcoin/bips bip-0039.mediawiki) with
// @scure/bip39, over the node's own mnemonic checks (src/hd/bip39.ts). An independent reference for
// the enclave's generation and seed (src/enclave/crypto/hd.ts), checked itself against the Trezor
// vectors (test/hd/bip39.test.ts); nothing in src/ uses it.
//
// - Generation: 256 bits of entropy → 24 words.
// - Seed: PBKDF2-HMAC-SHA512(NFKD(mnemonic), "mnemonic" + NFKD(passphrase), 2048 rounds, 64 bytes).
import { entropyToMnemonic, mnemonicToEntropy, mnemonicToSeedSync } from '@scure/bip39';
import { wordlist as english } from '@scure/bip39/wordlists/english.js';
import { invalid } from '../../../src/errors.js';
import { parseMnemonic, parsePassphrase } from '../../../src/hd/bip39.js';

export * from '../../../src/hd/bip39.js';

const ENTROPY_LENGTHS = [16, 20, 24, 28, 32];

/** A fresh 24-word mnemonic (256 bits of entropy from the platform CSPRNG). */
export function generateMnemonic(): string {
  const entropy = new Uint8Array(32);
  crypto.getRandomValues(entropy);
  try {
    return entropyToMnemonic(entropy, english);
  } finally {
    entropy.fill(0);
  }
}

/** Entropy (16–32 bytes, a multiple of 4) → mnemonic. For tests and for storing entropy compactly. */
export function entropyToMnemonicEnglish(entropy: Uint8Array): string {
  if (!(entropy instanceof Uint8Array) || !ENTROPY_LENGTHS.includes(entropy.length))
    throw invalid('entropy must be 16, 20, 24, 28 or 32 bytes');
  return entropyToMnemonic(entropy, english);
}

/** Whether `value` is a valid English BIP39 mnemonic (after the same canonicalisation). */
export function isValidMnemonic(value: unknown): boolean {
  try {
    parseMnemonic(value);
    return true;
  } catch {
    return false;
  }
}

/** Mnemonic → entropy bytes (validated). The caller owns and should wipe the result. */
export function mnemonicToEntropyBytes(value: unknown): Uint8Array {
  return mnemonicToEntropy(parseMnemonic(value), english);
}

/**
 * BIP39 seed (64 bytes) from a mnemonic and optional passphrase. The mnemonic is validated first:
 * BIP39 would derive a seed from any string, but a typo must not silently open an empty wallet.
 * The caller owns the seed and should wipe it after use.
 */
export function mnemonicToSeed(mnemonic: unknown, passphrase?: unknown): Uint8Array {
  const sentence = parseMnemonic(mnemonic);
  const pass = parsePassphrase(passphrase);
  // @scure/bip39 applies NFKD to both the sentence and the "mnemonic"+passphrase salt.
  return mnemonicToSeedSync(sentence, pass);
}
