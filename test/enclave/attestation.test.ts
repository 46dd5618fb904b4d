// Software attestation (src/enclave/crypto/attestation.ts) with the cluster CA made by src/tls
// (ECDSA P-256) and with an Ed25519 CA key: a signed statement verifies, and forged, re-signed by
// another CA, expired, not-yet-valid, too old, wrong-node, wrong-key, wrong-type, algorithm-swapped
// and malformed attestations are refused with FORBIDDEN and a reason. The signed encoding is pinned.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, X509Certificate } from 'node:crypto';
import {
  ATTESTATION_TYPE_SOFTWARE_V1,
  attestationSigningBytes,
  grantUris,
  MAX_CERTIFICATE_PEM,
  readNodeGrant,
  signAttestation,
  verifyAttestation,
  type Attestation,
  type AttestationExpectations,
  type AttestationStatement,
} from '../../src/enclave/crypto/attestation.js';
import { generateTransportKeyPair } from '../../src/enclave/crypto/wrap.js';
import { createCa, issueServerCert } from '../../src/tls/certs.js';
import { KeymeshError } from '../../src/errors.js';
import { expectCode, hex } from './_support.js';

const ca = await createCa('Keymesh cluster CA');
const otherCa = await createCa('Someone else');
const now = Date.UTC(2026, 0, 15, 12);
const DAY = 86_400_000;
const transport = generateTransportKeyPair();
const statement: AttestationStatement = {
  type: ATTESTATION_TYPE_SOFTWARE_V1,
  nodeId: 'node-eu-1',
  region: 'eu-west',
  level: 3,
  transportPublicKey: '0x' + hex(transport.publicKey),
  enclaveKind: 'software',
  issuedAt: now - DAY,
  expiresAt: now + 30 * DAY,
};
const expect: AttestationExpectations = { nodeId: 'node-eu-1', now };

function refused(
  att: unknown,
  reason: string,
  exp: AttestationExpectations = expect,
  key: string = ca.certPem,
) {
  assert.throws(
    () => verifyAttestation(att, key, exp),
    (e: unknown) => {
      assert.ok(e instanceof KeymeshError, String(e));
      assert.equal(e.code, 'FORBIDDEN');
      assert.equal((e.details as { reason: string }).reason, reason, e.message);
      return true;
    },
  );
}

const clone = (a: Attestation): Attestation => JSON.parse(JSON.stringify(a)) as Attestation;

test('a statement signed by the cluster CA (P-256) verifies against ca.crt, the public key, or a KeyObject', () => {
  const att = signAttestation(statement, ca.keyPem);
  assert.equal(att.alg, 'ES256');
  assert.match(att.signature, /^0x[0-9a-f]{128}$/);
  const viaJson = JSON.parse(JSON.stringify(att)) as unknown; // as it comes back out of etcd
  assert.deepEqual(verifyAttestation(viaJson, ca.certPem, expect), statement);
  assert.deepEqual(
    verifyAttestation(viaJson, ca.certPem, {
      ...expect,
      transportPublicKey: transport.publicKey,
      region: 'eu-west',
      level: 3,
      maxAgeMs: 2 * DAY,
    }),
    statement,
  );
  assert.ok(
    verifyAttestation(viaJson, ca.certPem, {
      ...expect,
      transportPublicKey: statement.transportPublicKey.toUpperCase().replace('0X', '0x'),
    }),
  );
});

test('an Ed25519 CA key signs EdDSA attestations', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const att = signAttestation(statement, privateKey);
  assert.equal(att.alg, 'EdDSA');
  assert.deepEqual(verifyAttestation(att, publicKey, expect), statement);
  assert.deepEqual(
    verifyAttestation(att, publicKey.export({ format: 'pem', type: 'spki' }).toString(), expect),
    statement,
  );
  refused(att, 'algorithm'); // the P-256 CA does not accept it
});

test('forged: any signed field changed, or the signature altered, fails the signature', () => {
  const att = signAttestation(statement, ca.keyPem);
  const other = generateTransportKeyPair();
  const edits: Partial<AttestationStatement>[] = [
    { level: 9 },
    { region: 'us-east' },
    { transportPublicKey: '0x' + hex(other.publicKey) },
    { enclaveKind: 'pkcs11' },
    { issuedAt: statement.issuedAt + 1 },
    { expiresAt: statement.expiresAt + DAY },
  ];
  for (const e of edits) {
    const f = clone(att);
    Object.assign(f.statement, e);
    refused(f, 'signature');
  }
  // nodeId changed: still a signature failure (it is signed), checked before the binding.
  const n = clone(att);
  n.statement.nodeId = 'node-eu-2';
  refused(n, 'signature', { ...expect, nodeId: 'node-eu-2' });
  for (let i = 2; i < att.signature.length; i += 17) {
    const f = clone(att);
    const c = f.signature[i] === '0' ? '1' : '0';
    f.signature = f.signature.slice(0, i) + c + f.signature.slice(i + 1);
    refused(f, 'signature');
  }
  // Signed by another CA (and by a node's own TLS key): refused.
  refused(signAttestation(statement, otherCa.keyPem), 'signature');
});

test('a TLS leaf key is not a CA: signatures by it fail, and a leaf certificate is not accepted as the CA', async () => {
  const leaf = await issueServerCert(ca, { commonName: 'node-eu-1', clientAuth: true });
  refused(signAttestation(statement, leaf.keyPem), 'signature');
  expectCode(
    () => verifyAttestation(signAttestation(statement, ca.keyPem), leaf.certPem, expect),
    'INVALID_REQUEST',
  );
});

test('freshness: expired, not yet valid, too old; small clock skew tolerated', () => {
  const att = signAttestation(statement, ca.keyPem);
  refused(att, 'expired', { ...expect, now: statement.expiresAt });
  refused(att, 'expired', { ...expect, now: statement.expiresAt + 1 });
  assert.ok(verifyAttestation(att, ca.certPem, { ...expect, now: statement.expiresAt - 1 }));
  // A verifier whose clock is behind the signer's: up to the skew is fine.
  assert.ok(verifyAttestation(att, ca.certPem, { ...expect, now: statement.issuedAt - 60_000 }));
  refused(att, 'not_yet_valid', { ...expect, now: statement.issuedAt - 10 * 60_000 });
  refused(att, 'not_yet_valid', { ...expect, now: statement.issuedAt - 1, clockSkewMs: 0 });
  refused(att, 'too_old', { ...expect, maxAgeMs: DAY - 1 });
  assert.ok(verifyAttestation(att, ca.certPem, { ...expect, maxAgeMs: DAY }));
  // The signer refuses nonsense windows.
  expectCode(
    () => signAttestation({ ...statement, expiresAt: statement.issuedAt }, ca.keyPem),
    'INVALID_REQUEST',
  );
  expectCode(
    () => signAttestation({ ...statement, expiresAt: statement.issuedAt + 401 * DAY }, ca.keyPem),
    'INVALID_REQUEST',
  );
});

test('wrong node, wrong transport key, wrong region or level claims', () => {
  const att = signAttestation(statement, ca.keyPem);
  refused(att, 'node', { ...expect, nodeId: 'node-eu-2' });
  refused(att, 'transport_key', { ...expect, transportPublicKey: generateTransportKeyPair().publicKey });
  refused(att, 'region', { ...expect, region: 'us-east' });
  refused(att, 'level', { ...expect, level: 4 });
});

test('wrong type: another attestation type is refused even when the CA signed it', () => {
  const sgx = { ...statement, type: 'sgx-dcap-v1' } as unknown as AttestationStatement;
  expectCode(() => signAttestation(sgx, ca.keyPem), 'INVALID_REQUEST');
  const sig = sign('sha256', attestationSigningBytes(sgx), { key: ca.keyPem, dsaEncoding: 'ieee-p1363' });
  refused({ statement: sgx, alg: 'ES256', signature: '0x' + sig.toString('hex') }, 'type');
});

test('malformed attestations are refused without throwing anything else', () => {
  const att = signAttestation(statement, ca.keyPem);
  const cases: [unknown, string][] = [
    [null, 'malformed'],
    ['x', 'malformed'],
    [[], 'malformed'],
    [{ ...att, extra: 1 }, 'malformed'],
    [{ ...att, statement: { ...att.statement, extra: 1 } }, 'malformed'],
    [{ ...att, statement: { ...att.statement, level: 11 } }, 'malformed'],
    [{ ...att, statement: { ...att.statement, level: '3' } }, 'malformed'],
    [{ ...att, statement: { ...att.statement, nodeId: '../x' } }, 'malformed'],
    [{ ...att, statement: { ...att.statement, transportPublicKey: '0x00' } }, 'malformed'],
    [{ ...att, statement: { ...att.statement, issuedAt: -1 } }, 'malformed'],
    [{ statement: att.statement, signature: att.signature }, 'algorithm'],
    [{ ...att, alg: 'none' }, 'algorithm'],
    [{ ...att, alg: 'EdDSA' }, 'algorithm'],
    [{ ...att, signature: att.signature.slice(0, -2) }, 'signature'],
    [{ ...att, signature: 'AA' + att.signature.slice(2) }, 'signature'],
  ];
  for (const [a, reason] of cases) refused(a, reason);
  expectCode(() => verifyAttestation(att, ca.certPem, { nodeId: '' }), 'INVALID_REQUEST');
  expectCode(() => verifyAttestation(att, 'not a pem', expect), 'INVALID_REQUEST');
});

test('the signed encoding is fixed (and can never parse as DER)', () => {
  const s: AttestationStatement = {
    type: ATTESTATION_TYPE_SOFTWARE_V1,
    nodeId: 'n1',
    region: 'r',
    level: 2,
    transportPublicKey: '0x' + '11'.repeat(32),
    enclaveKind: 'software',
    issuedAt: 1,
    expiresAt: 258,
  };
  const bytes = attestationSigningBytes(s);
  assert.equal(bytes[0], 0x00);
  assert.equal(
    hex(bytes),
    [
      '00000016' + Buffer.from('keymesh/attestation/v1').toString('hex'),
      '00000013' + Buffer.from('keymesh-software-v1').toString('hex'),
      '00000002' + '6e31',
      '00000001' + '72',
      '00000004' + '00000002',
      '00000020' + '11'.repeat(32),
      '00000008' + Buffer.from('software').toString('hex'),
      '00000008' + '0000000000000001',
      '00000008' + '0000000000000102',
    ].join(''),
  );
});

// ---- signed by a CA-issued node certificate (what a node does at start) -----------------------

const realNow = Date.now();
const certStatement: AttestationStatement = {
  ...statement,
  issuedAt: realNow - DAY,
  expiresAt: realNow + DAY,
};
const certExpect: AttestationExpectations = { nodeId: 'node-eu-1', now: realNow };
const nodeCert = (c: typeof ca, id: string, region: string, level: number, extra: object = {}) =>
  issueServerCert(c, { commonName: id, clientAuth: true, uris: grantUris(region, level), ...extra });

test('a statement signed with a node certificate verifies when it claims exactly what the CA granted', async () => {
  const cert = await nodeCert(ca, 'node-eu-1', 'eu-west', 3);
  const att = signAttestation(certStatement, cert.keyPem, { certificate: cert.certPem });
  assert.equal(att.alg, 'ES256');
  const viaJson = JSON.parse(JSON.stringify(att)) as unknown;
  assert.deepEqual(verifyAttestation(viaJson, ca.certPem, certExpect), certStatement);
  assert.deepEqual(readNodeGrant(new X509Certificate(cert.certPem)), {
    nodeId: 'node-eu-1',
    region: 'eu-west',
    level: 3,
  });
  // Another CA's verifier, a tampered statement, or a signature by some other key: refused.
  refused(viaJson, 'certificate', certExpect, otherCa.certPem);
  const higher = clone(att);
  higher.statement.level = 4;
  refused(higher, 'signature', certExpect);
  const other = await nodeCert(ca, 'node-eu-1', 'eu-west', 3);
  refused({ ...att, certificate: other.certPem }, 'signature', certExpect);
});

test('a node certificate cannot vouch for more than it grants, nor outside its validity', async () => {
  // The node signs a higher level, another region, or another node id than its certificate says.
  const cert = await nodeCert(ca, 'node-eu-1', 'eu-west', 1);
  for (const s of [
    certStatement, // level 3, granted 1
    { ...certStatement, level: 1, region: 'us-east' },
  ])
    refused(signAttestation(s, cert.keyPem, { certificate: cert.certPem }), 'grant', certExpect);
  const other = await nodeCert(ca, 'node-us-9', 'eu-west', 3);
  refused(signAttestation(certStatement, other.keyPem, { certificate: other.certPem }), 'grant', certExpect);
  // Issued by another CA; a certificate without a grant; a CA certificate; garbage; too long.
  const foreign = await nodeCert(otherCa, 'node-eu-1', 'eu-west', 3);
  refused(
    signAttestation(certStatement, foreign.keyPem, { certificate: foreign.certPem }),
    'certificate',
    certExpect,
  );
  const bare = await issueServerCert(ca, { commonName: 'node-eu-1', clientAuth: true });
  refused(signAttestation(certStatement, bare.keyPem, { certificate: bare.certPem }), 'grant', certExpect);
  refused(signAttestation(certStatement, ca.keyPem, { certificate: ca.certPem }), 'certificate', certExpect);
  const good = signAttestation(certStatement, (await nodeCert(ca, 'node-eu-1', 'eu-west', 3)).keyPem);
  refused({ ...good, certificate: 'not a certificate' }, 'certificate', certExpect);
  refused({ ...good, certificate: 'x'.repeat(MAX_CERTIFICATE_PEM + 1) }, 'certificate', certExpect);
  refused({ ...good, certificate: 42 }, 'certificate', certExpect);
  // Outside the certificate's validity (checked with the verifier's clock).
  const fine = await nodeCert(ca, 'node-eu-1', 'eu-west', 3);
  const att = signAttestation(certStatement, fine.keyPem, { certificate: fine.certPem });
  refused(att, 'certificate_expired', { ...certExpect, now: realNow + 400 * DAY });
  assert.throws(() => grantUris('eu west', 1), KeymeshError);
  assert.throws(() => grantUris('eu', 11), KeymeshError);
});
