// Software attestation of a node's enclave transport key. Owns the statement format, its signed
// encoding, and the checks a node runs before it wraps a replica to a peer (DESIGN.md, "Key
// material" and "Trust boundaries"; issue 4, point 2).
//
// A `keymesh-software-v1` statement says: "node N, in region R at security level L, runs a K
// enclave whose transport public key is P, from issuedAt until expiresAt". The cluster CA that
// `keymesh cluster init` makes vouches for it in one of two ways:
// - through the node's certificate (the usual way): `keymesh cluster add-node --region R --level L`
//   has the CA issue node N a certificate whose subjectAltName carries urn:keymesh:region:R and
//   urn:keymesh:level:L; the node signs its statement with that certificate's key (ES256) at start
//   and sends the certificate along. A verifier checks the certificate against the CA and that the
//   statement claims exactly what it grants. Nodes never hold the CA key, so the provider of one
//   node can attest only that node, at the region and level the operator granted it;
// - or directly, signed by the CA key itself (ES256, or EdDSA for an Ed25519 CA key), by an
//   operator holding it offline.
// Either way it proves no more than the CA's trust in the operator: a software enclave cannot
// prove what code it runs. The `type` field is what lets a hardware quote
// (SGX DCAP, Nitro, SEV-SNP) replace it: a verifier refuses types it does not know.
//
// Signed bytes (fixed, unambiguous; lp(x) = u32be(len x) ‖ x):
//   lp("keymesh/attestation/v1") ‖ lp(type) ‖ lp(nodeId) ‖ lp(region) ‖ lp(u32be level)
//   ‖ lp(transport public key, 32 raw bytes) ‖ lp(enclaveKind) ‖ lp(u64be issuedAt ms)
//   ‖ lp(u64be expiresAt ms)
// The first byte is 0x00 (a length), never 0x30 (a DER SEQUENCE): the CA key also signs X.509
// certificates, and no statement can be mistaken for a TBSCertificate or the other way round.
// ES256 signatures are IEEE P1363 r ‖ s (64 bytes, FIPS 186-5 ECDSA over SHA-256); EdDSA is
// RFC 8032 Ed25519. Signing and verification are node:crypto (OpenSSL).
//
// Every verification failure is FORBIDDEN ("this peer is not trusted with a replica") with a
// `details.reason` for logs; the statement is not echoed.
import {
  createPrivateKey,
  createPublicKey,
  sign,
  verify,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import { KeymeshError } from '../../errors.js';
import { NODE_ID_RE, REGION_RE } from '../../util/ids.js';
import { concatBytes, lengthPrefixed, u32be } from './bytes.js';

export const ATTESTATION_TYPE_SOFTWARE_V1 = 'keymesh-software-v1';
export type AttestationType = typeof ATTESTATION_TYPE_SOFTWARE_V1;
export const ENCLAVE_KINDS = ['software', 'pkcs11'] as const;
export type EnclaveKind = (typeof ENCLAVE_KINDS)[number];
export type AttestationAlg = 'ES256' | 'EdDSA';

/** Longest a statement may be valid for; a verifier may ask for less with `maxAgeMs`. */
export const MAX_ATTESTATION_VALIDITY_MS = 400 * 86_400_000;
/** Default tolerance for a verifier whose clock is behind the signer's. */
export const DEFAULT_CLOCK_SKEW_MS = 5 * 60_000;
export const MAX_LEVEL = 10;

const DOMAIN = new TextEncoder().encode('keymesh/attestation/v1');
// Same rules as the cluster's validators (src/cluster/ids.ts), repeated here because the enclave
// must not import node-side code.
const PUB_RE = /^0x[0-9a-f]{64}$/;
const SIG_RE = /^0x[0-9a-f]{128}$/;
const STATEMENT_FIELDS = [
  'type',
  'nodeId',
  'region',
  'level',
  'transportPublicKey',
  'enclaveKind',
  'issuedAt',
  'expiresAt',
] as const;

export interface AttestationStatement {
  type: AttestationType;
  nodeId: string;
  region: string;
  /** Security level 0..10, as the operator who signed it vouches. */
  level: number;
  /** X25519 transport public key: 0x + 64 lowercase hex digits. */
  transportPublicKey: string;
  enclaveKind: EnclaveKind;
  /** Milliseconds since the Unix epoch. */
  issuedAt: number;
  expiresAt: number;
}

export interface Attestation {
  statement: AttestationStatement;
  alg: AttestationAlg;
  /** 0x + 128 hex digits: ES256 r ‖ s, or an Ed25519 signature. */
  signature: string;
  /** PEM: the CA-issued node certificate whose key made `signature` (absent: the CA key did). */
  certificate?: string;
}

/** Longest node certificate accepted in an attestation (ours are about 1 KiB). */
export const MAX_CERTIFICATE_PEM = 8192;

/** What a node certificate grants: its subject CN is the node id; region and level are SAN URIs. */
export interface NodeGrant {
  nodeId: string;
  region: string;
  level: number;
}

/** The subjectAltName URIs by which `keymesh cluster add-node` grants a region and level. */
export function grantUris(region: string, level: number): string[] {
  if (!REGION_RE.test(region)) throw new KeymeshError('INVALID_REQUEST', 'region is not a region name');
  if (!Number.isInteger(level) || level < 0 || level > MAX_LEVEL)
    throw new KeymeshError('INVALID_REQUEST', `level must be an integer from 0 to ${MAX_LEVEL}`);
  return [`urn:keymesh:region:${region}`, `urn:keymesh:level:${level}`];
}

/** The grant of a node certificate, or undefined when it names no single node, region and level. */
export function readNodeGrant(cert: X509Certificate): NodeGrant | undefined {
  const cns = cert.subject
    .split('\n')
    .filter((l) => l.startsWith('CN='))
    .map((l) => l.slice(3));
  const uris = (cert.subjectAltName ?? '')
    .split(', ')
    .filter((x) => x.startsWith('URI:'))
    .map((x) => x.slice(4));
  const pick = (prefix: string) => {
    const found = uris.filter((u) => u.startsWith(prefix)).map((u) => u.slice(prefix.length));
    return found.length === 1 ? found[0] : undefined;
  };
  const region = pick('urn:keymesh:region:');
  const level = pick('urn:keymesh:level:');
  if (cns.length !== 1 || !NODE_ID_RE.test(cns[0]!) || region === undefined || level === undefined)
    return undefined;
  if (!REGION_RE.test(region) || !/^(10|[0-9])$/.test(level)) return undefined;
  return { nodeId: cns[0]!, region, level: Number(level) };
}

export interface AttestationExpectations {
  /** The node the attestation must be for (the record or certificate it came with). */
  nodeId: string;
  /** When given, the statement must carry exactly this transport key (0x hex or 32 bytes). */
  transportPublicKey?: string | Uint8Array;
  /** When given, the region and level the peer claims elsewhere must be the attested ones. */
  region?: string;
  level?: number;
  /** The verifier's clock (ms since epoch); default Date.now(). */
  now?: number;
  /** Also refuse statements issued longer ago than this. */
  maxAgeMs?: number;
  /** Tolerance for issuedAt in the future; default DEFAULT_CLOCK_SKEW_MS. */
  clockSkewMs?: number;
}

const fail = (reason: string, message = 'the attestation does not verify') =>
  new KeymeshError('FORBIDDEN', message, { details: { reason } });

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return (
    typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype
  );
}

const isTime = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** Structural check of a statement, INVALID_REQUEST naming the field (for the signer's input). */
function checkStatementShape(s: unknown): asserts s is AttestationStatement {
  const bad = (m: string) => new KeymeshError('INVALID_REQUEST', `attestation statement: ${m}`);
  if (!isPlainObject(s)) throw bad('must be an object');
  for (const k of Object.keys(s))
    if (!(STATEMENT_FIELDS as readonly string[]).includes(k)) throw bad(`unknown field ${JSON.stringify(k)}`);
  if (typeof s.type !== 'string' || s.type.length === 0 || s.type.length > 64) throw bad('type is missing');
  if (typeof s.nodeId !== 'string' || !NODE_ID_RE.test(s.nodeId)) throw bad('nodeId is not a node id');
  if (typeof s.region !== 'string' || !REGION_RE.test(s.region)) throw bad('region is not a region name');
  if (!Number.isInteger(s.level) || (s.level as number) < 0 || (s.level as number) > MAX_LEVEL)
    throw bad(`level must be an integer from 0 to ${MAX_LEVEL}`);
  if (typeof s.transportPublicKey !== 'string' || !PUB_RE.test(s.transportPublicKey))
    throw bad('transportPublicKey must be 0x and 64 lowercase hex digits');
  if (typeof s.enclaveKind !== 'string' || !(ENCLAVE_KINDS as readonly string[]).includes(s.enclaveKind))
    throw bad(`enclaveKind must be one of ${ENCLAVE_KINDS.join(', ')}`);
  if (!isTime(s.issuedAt) || !isTime(s.expiresAt)) throw bad('issuedAt and expiresAt are epoch milliseconds');
  if (s.expiresAt <= s.issuedAt || s.expiresAt - s.issuedAt > MAX_ATTESTATION_VALIDITY_MS)
    throw bad('expiresAt must be after issuedAt, by at most 400 days');
}

function u64be(n: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), false);
  return out;
}

/** The exact bytes the CA signs (exported for tests and for other signers, e.g. an offline tool). */
export function attestationSigningBytes(s: AttestationStatement): Uint8Array {
  checkStatementShape(s);
  const utf8 = (x: string) => new TextEncoder().encode(x);
  return concatBytes(
    lengthPrefixed(DOMAIN),
    lengthPrefixed(utf8(s.type)),
    lengthPrefixed(utf8(s.nodeId)),
    lengthPrefixed(utf8(s.region)),
    lengthPrefixed(u32be(s.level)),
    lengthPrefixed(new Uint8Array(Buffer.from(s.transportPublicKey.slice(2), 'hex'))),
    lengthPrefixed(utf8(s.enclaveKind)),
    lengthPrefixed(u64be(s.issuedAt)),
    lengthPrefixed(u64be(s.expiresAt)),
  );
}

function algFor(key: KeyObject): AttestationAlg | undefined {
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  return undefined;
}

/**
 * Sign a statement with the cluster CA's private key (PEM PKCS#8, as src/tls writes ca.key), or,
 * with `opts.certificate`, with the key of that CA-issued node certificate (node.key).
 */
export function signAttestation(
  statement: AttestationStatement,
  caPrivateKey: string | KeyObject,
  opts: { certificate?: string } = {},
): Attestation {
  if (statement?.type !== ATTESTATION_TYPE_SOFTWARE_V1)
    throw new KeymeshError(
      'INVALID_REQUEST',
      `this signer issues ${ATTESTATION_TYPE_SOFTWARE_V1} statements only`,
    );
  const data = attestationSigningBytes(statement);
  let key: KeyObject;
  try {
    key = typeof caPrivateKey === 'string' ? createPrivateKey(caPrivateKey) : caPrivateKey;
  } catch (cause) {
    throw new KeymeshError('INVALID_REQUEST', 'the CA private key does not parse', { cause });
  }
  if (key.type !== 'private') throw new KeymeshError('INVALID_REQUEST', 'the CA key must be a private key');
  const alg = algFor(key);
  if (!alg) throw new KeymeshError('INVALID_REQUEST', 'the CA key must be ECDSA P-256 or Ed25519');
  const sig =
    alg === 'ES256' ? sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' }) : sign(null, data, key);
  // A copy of the fields only: the signed object is exactly what was signed.
  const signed: AttestationStatement = {
    type: statement.type,
    nodeId: statement.nodeId,
    region: statement.region,
    level: statement.level,
    transportPublicKey: statement.transportPublicKey,
    enclaveKind: statement.enclaveKind,
    issuedAt: statement.issuedAt,
    expiresAt: statement.expiresAt,
  };
  return {
    statement: signed,
    alg,
    signature: '0x' + sig.toString('hex'),
    ...(opts.certificate !== undefined ? { certificate: opts.certificate } : {}),
  };
}

/** The CA's public key from a PEM certificate (ca.crt), a PEM public key, or a KeyObject. */
export function caVerificationKey(ca: string | KeyObject): KeyObject {
  if (typeof ca !== 'string') {
    if (ca.type === 'private') return createPublicKey(ca);
    return ca;
  }
  try {
    if (ca.includes('-----BEGIN CERTIFICATE-----')) {
      const cert = new X509Certificate(ca);
      if (!cert.ca) throw new Error('not a CA certificate');
      return cert.publicKey;
    }
    return createPublicKey(ca);
  } catch (cause) {
    throw new KeymeshError('INVALID_REQUEST', 'the cluster CA certificate or public key does not parse', {
      cause,
    });
  }
}

/**
 * Verify an attestation (as parsed from JSON, so `unknown`) against the cluster CA and the
 * expectations; returns the verified statement. Order: shape, type, algorithm, signature, then the
 * bindings and the clock, so nothing unsigned is ever compared.
 */
export function verifyAttestation(
  att: unknown,
  ca: string | KeyObject,
  expect: AttestationExpectations,
): AttestationStatement {
  if (!expect || typeof expect.nodeId !== 'string' || !NODE_ID_RE.test(expect.nodeId))
    throw new KeymeshError('INVALID_REQUEST', 'expectations.nodeId must be a node id');
  const caKey = caVerificationKey(ca);
  if (!isPlainObject(att)) throw fail('malformed');
  for (const k of Object.keys(att))
    if (!['statement', 'alg', 'signature', 'certificate'].includes(k)) throw fail('malformed');
  const now = expect.now ?? Date.now();
  const skew = expect.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS;
  if (!isTime(now) || !isTime(skew))
    throw new KeymeshError('INVALID_REQUEST', 'now and clockSkewMs must be ms');
  // Signed by a node certificate: the CA must have issued it, and it must be valid now.
  let key = caKey;
  let grant: NodeGrant | undefined;
  if (att.certificate !== undefined) {
    if (typeof att.certificate !== 'string' || att.certificate.length > MAX_CERTIFICATE_PEM)
      throw fail('certificate');
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(att.certificate);
    } catch {
      throw fail('certificate');
    }
    let issued = false;
    try {
      issued = !cert.ca && cert.verify(caKey);
    } catch {
      issued = false;
    }
    if (!issued) throw fail('certificate', 'the attestation certificate is not one the cluster CA issued');
    if (now + skew < Date.parse(cert.validFrom) || now >= Date.parse(cert.validTo))
      throw fail('certificate_expired', 'the attestation certificate is not valid now');
    grant = readNodeGrant(cert);
    if (!grant) throw fail('grant', 'the attestation certificate grants no region and level');
    key = cert.publicKey;
  }
  const s = att.statement;
  if (isPlainObject(s) && typeof s.type === 'string' && s.type !== ATTESTATION_TYPE_SOFTWARE_V1)
    throw fail('type', 'the attestation is of a type this node does not accept');
  try {
    checkStatementShape(s);
  } catch {
    throw fail('malformed');
  }
  if (att.alg !== 'ES256' && att.alg !== 'EdDSA') throw fail('algorithm');
  // The algorithm is the CA key's, never the attestation's choice (no algorithm confusion).
  if (algFor(key) !== att.alg) throw fail('algorithm');
  if (typeof att.signature !== 'string' || !SIG_RE.test(att.signature)) throw fail('signature');
  const sig = Buffer.from(att.signature.slice(2), 'hex');
  const data = attestationSigningBytes(s);
  let ok = false;
  try {
    ok =
      att.alg === 'ES256'
        ? verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig)
        : verify(null, data, key, sig);
  } catch {
    ok = false;
  }
  if (!ok) throw fail('signature');
  if (grant && (grant.nodeId !== s.nodeId || grant.region !== s.region || grant.level !== s.level))
    throw fail('grant', 'the attestation claims more than its certificate grants');

  if (s.nodeId !== expect.nodeId) throw fail('node', 'the attestation is for another node');
  if (expect.transportPublicKey !== undefined) {
    const want =
      typeof expect.transportPublicKey === 'string'
        ? expect.transportPublicKey.toLowerCase()
        : '0x' + Buffer.from(expect.transportPublicKey).toString('hex');
    if (want !== s.transportPublicKey)
      throw fail('transport_key', 'the attestation is for another transport key');
  }
  if (expect.region !== undefined && expect.region !== s.region)
    throw fail('region', 'the node claims a region it is not attested for');
  if (expect.level !== undefined && expect.level !== s.level)
    throw fail('level', 'the node claims a level it is not attested for');
  if (s.issuedAt > now + skew) throw fail('not_yet_valid', 'the attestation is not valid yet');
  if (now >= s.expiresAt) throw fail('expired', 'the attestation has expired');
  if (expect.maxAgeMs !== undefined && now - s.issuedAt > expect.maxAgeMs)
    throw fail('too_old', 'the attestation is older than this node accepts');
  return s;
}
