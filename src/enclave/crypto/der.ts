// Strict DER for ECDSA signatures (SEC 1 §C.5 ECDSA-Sig-Value, X.690 DER): SEQUENCE of two
// INTEGERs, definite short-form lengths, minimal positive integers, nothing before or after. BER
// leniencies (long-form lengths, padding zeros, negative numbers, trailing bytes) are refused, as
// Wycheproof's BerEncodedSignature cases require. Range checks against the curve order belong to
// the verifier, which knows the curve.

const SCALAR_BYTES = 32;

/** DER → 64-byte r‖s, or undefined when the encoding is not strict DER for a 256-bit curve. */
export function derToCompact(der: Uint8Array): Uint8Array | undefined {
  // 0x30 len 0x02 rlen r 0x02 slen s; with 33-byte integers at most 2 + 2 * 35 = 72 bytes.
  if (der.length < 8 || der.length > 72) return undefined;
  if (der[0] !== 0x30 || der[1] !== der.length - 2) return undefined;
  const out = new Uint8Array(2 * SCALAR_BYTES);
  let pos = 2;
  for (let i = 0; i < 2; i++) {
    if (pos + 2 > der.length || der[pos] !== 0x02) return undefined;
    const len = der[pos + 1]!;
    pos += 2;
    if (len === 0 || len >= 0x80 || pos + len > der.length) return undefined;
    const first = der[pos]!;
    if (first & 0x80) return undefined; // negative
    if (first === 0 && len > 1 && (der[pos + 1]! & 0x80) === 0) return undefined; // non-minimal
    let start = pos;
    let n = len;
    if (first === 0 && len > 1) {
      start++;
      n--;
    }
    if (n > SCALAR_BYTES) return undefined;
    out.set(der.subarray(start, start + n), i * SCALAR_BYTES + SCALAR_BYTES - n);
    pos += len;
  }
  return pos === der.length ? out : undefined;
}

/** 64-byte r‖s → strict DER. */
export function compactToDer(compact: Uint8Array): Uint8Array {
  if (compact.length !== 2 * SCALAR_BYTES) throw new Error('compactToDer: expected 64 bytes');
  const ints = [compact.subarray(0, SCALAR_BYTES), compact.subarray(SCALAR_BYTES)].map((v) => {
    let i = 0;
    while (i < v.length - 1 && v[i] === 0) i++;
    const body = v.subarray(i);
    const pad = body[0]! & 0x80 ? 1 : 0;
    const enc = new Uint8Array(2 + pad + body.length);
    enc[0] = 0x02;
    enc[1] = pad + body.length;
    enc.set(body, 2 + pad);
    return enc;
  });
  const [r, s] = ints as [Uint8Array, Uint8Array];
  const out = new Uint8Array(2 + r.length + s.length);
  out[0] = 0x30;
  out[1] = r.length + s.length;
  out.set(r, 2);
  out.set(s, 2 + r.length);
  return out;
}
