// EIP-191 version 0x45 ("personal_sign", geth's eth_sign): the digest is
// keccak256("\x19Ethereum Signed Message:\n" ‖ decimal length ‖ message).
//
// The message is text (UTF-8), or bytes given as 0x-hex: wallets (MetaMask, geth's personal_sign,
// ethers' JsonRpcSigner) send arbitrary bytes hex-encoded, so a string that is entirely 0x-hex with
// an even number of digits is read as bytes, and anything else as text. To sign the literal text
// "0x1234", send it hex-encoded.
import { hashMessage, hexToBytes } from 'viem';
import { invalid } from '../../errors.js';

export const MAX_MESSAGE_BYTES = 128 * 1024;
const HEX_RE = /^0x([0-9a-fA-F]{2})*$/;
const LONE_SURROGATE = /\p{Surrogate}/u;

/** The message bytes of a personal_sign / eth_sign request. */
export function parsePersonalMessage(value: unknown, field = 'message'): Uint8Array {
  if (typeof value !== 'string') throw invalid(`${field} must be a string (text, or 0x-hex bytes)`);
  // UTF-8 takes at most 3 bytes per UTF-16 unit; hex takes 2 characters per byte.
  if (value.length > 3 * MAX_MESSAGE_BYTES)
    throw invalid(`${field} is longer than ${MAX_MESSAGE_BYTES} bytes`);
  let bytes: Uint8Array;
  if (HEX_RE.test(value)) {
    bytes = hexToBytes(value as `0x${string}`);
  } else {
    if (LONE_SURROGATE.test(value)) throw invalid(`${field} is not well-formed Unicode`);
    bytes = new TextEncoder().encode(value);
  }
  if (bytes.length > MAX_MESSAGE_BYTES) throw invalid(`${field} is longer than ${MAX_MESSAGE_BYTES} bytes`);
  return bytes;
}

/** The 32-byte EIP-191 personal-message digest of `message` bytes. */
export function personalMessageHash(message: Uint8Array): Uint8Array {
  if (!(message instanceof Uint8Array) || message.length > MAX_MESSAGE_BYTES)
    throw invalid(`message must be at most ${MAX_MESSAGE_BYTES} bytes`);
  return hexToBytes(hashMessage({ raw: message }));
}
