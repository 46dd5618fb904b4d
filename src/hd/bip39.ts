// BIP39 mnemonic sentences (bitcoin/bips bip-0039.mediawiki), English wordlist only: the checks on
// an imported mnemonic and passphrase, and their size bounds.
//
// - Validation: 12/15/18/21/24 known words whose last bits are SHA-256(entropy)'s first ENT/32
//   bits; anything else is INVALID_REQUEST (unknown word, bad checksum, wrong count).
//
// Generation and the seed itself are the enclave's (src/enclave/crypto/hd.ts); the reference
// versions that check it are a test oracle (test/hd/oracles/bip39.ts).
//
// These run inside the enclave worker: the mnemonic is a secret. Messages never echo the
// mnemonic or any of its words (an "unknown word" error names the position, not the word).
import { mnemonicToEntropy } from '@scure/bip39';
import { wordlist as english } from '@scure/bip39/wordlists/english.js';
import { invalid } from '../errors.js';

/** 24 words * 8 letters + separators is ~215 characters; leave room for stray whitespace. */
export const MAX_MNEMONIC_LENGTH = 1024;
/** BIP39 sets no limit; one keeps PBKDF2's input (and the request) bounded. */
export const MAX_PASSPHRASE_LENGTH = 1024;
const WORD_COUNTS = [12, 15, 18, 21, 24];
const WORDS = new Set(english);
// In /u mode a surrogate pair is one code point, so this matches only unpaired halves, which
// have no UTF-8 encoding (BIP39 hashes UTF-8).
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * Check and canonicalise a mnemonic: NFKD, lower-case, words separated by single spaces (what
 * wallets show and what BIP39's seed function must be fed). Returns the canonical sentence.
 */
export function parseMnemonic(value: unknown, field = 'mnemonic'): string {
  if (typeof value !== 'string') throw invalid(`${field} must be a string of 12 to 24 words`);
  if (value.length > MAX_MNEMONIC_LENGTH)
    throw invalid(`${field} is longer than ${MAX_MNEMONIC_LENGTH} characters`);
  if (LONE_SURROGATE.test(value)) throw invalid(`${field} is not well-formed Unicode`);
  const words = value.normalize('NFKD').toLowerCase().trim().split(/\s+/u);
  if (!WORD_COUNTS.includes(words.length)) throw invalid(`${field} must have 12, 15, 18, 21 or 24 words`);
  for (const [i, w] of words.entries()) {
    if (!WORDS.has(w)) throw invalid(`${field} word ${i + 1} is not in the BIP39 English wordlist`);
  }
  const sentence = words.join(' ');
  let entropy: Uint8Array | undefined;
  try {
    entropy = mnemonicToEntropy(sentence, english);
  } catch {
    // Every word is known and the count is right, so the only failure left is the checksum.
    throw invalid(`${field} has an invalid checksum (a word is wrong or out of order)`);
  } finally {
    entropy?.fill(0);
  }
  return sentence;
}

/** Check an optional BIP39 passphrase ("" when absent). */
export function parsePassphrase(value: unknown, field = 'passphrase'): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw invalid(`${field} must be a string`);
  if (value.length > MAX_PASSPHRASE_LENGTH)
    throw invalid(`${field} is longer than ${MAX_PASSPHRASE_LENGTH} characters`);
  if (LONE_SURROGATE.test(value)) throw invalid(`${field} is not well-formed Unicode`);
  return value;
}
