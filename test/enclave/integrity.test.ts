// The cluster integrity key between real software enclaves in cluster mode
// (enclave/software/worker/integrity.ts, crypto/integrity-copy.ts): made in one enclave, wrapped
// to another node only after its attestation verified, and adopted there only from the attested
// node that wrapped it (its tag over the copy verifies under its attested transport key). A copy
// anyone could make (wrapped to the recipient's public key, with any tag) is refused, so someone
// who can write to etcd cannot hand a joining node a key of their own.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ATTESTATION_TYPE_SOFTWARE_V1, signAttestation } from '../../src/enclave/crypto/attestation.js';
import { copyTag, verifyCopyTag } from '../../src/enclave/crypto/integrity-copy.js';
import { generateTransportKeyPair, wrapToNode } from '../../src/enclave/crypto/wrap.js';
import { createSoftwareEnclave, type SoftwareEnclave } from '../../src/enclave/software/pool.js';
import { KeymeshError } from '../../src/errors.js';
import { createCa, type CertificateAuthority } from '../../src/tls/certs.js';
import { makeTempDir } from '../helpers/tmp.js';

let ca: CertificateAuthority;
const nodes: { id: string; enclave: SoftwareEnclave; attestation: unknown; pub: Uint8Array }[] = [];

function attest(id: string, pub: Uint8Array) {
  const now = Date.now();
  return signAttestation(
    {
      type: ATTESTATION_TYPE_SOFTWARE_V1,
      nodeId: id,
      region: 'eu',
      level: 1,
      transportPublicKey: '0x' + Buffer.from(pub).toString('hex'),
      enclaveKind: 'software',
      issuedAt: now - 1000,
      expiresAt: now + 86_400_000,
    },
    ca.keyPem,
  );
}

before(async () => {
  ca = await createCa('Keymesh cluster CA');
  for (const id of ['a', 'b', 'c']) {
    const enclave = await createSoftwareEnclave({
      dataDir: makeTempDir(`integrity-${id}`).dir,
      dev: true,
      threads: 1,
      cluster: { nodeId: id, ca: ca.certPem },
    });
    const pub = enclave.transportPublicKey();
    nodes.push({ id, enclave, attestation: attest(id, pub), pub });
  }
});
after(async () => {
  for (const n of nodes) await n.enclave.close();
});

const refused = (e: unknown) =>
  e instanceof KeymeshError && ['ENCLAVE_FAILURE', 'FORBIDDEN'].includes(e.code);

test('the copy tag binds both parties and the copy', () => {
  const s = generateTransportKeyPair();
  const r = generateTransportKeyPair();
  const wrapped = new Uint8Array(randomBytes(81));
  const p = {
    senderId: 's',
    recipientId: 'r',
    senderPublicKey: s.publicKey,
    recipientPublicKey: r.publicKey,
  };
  const tag = copyTag(s.privateKey, p, wrapped);
  assert.equal(tag.length, 32);
  assert.ok(verifyCopyTag(r.privateKey, p, wrapped, tag));
  assert.ok(!verifyCopyTag(r.privateKey, { ...p, senderId: 't' }, wrapped, tag));
  assert.ok(!verifyCopyTag(r.privateKey, { ...p, recipientId: 'q' }, wrapped, tag));
  const other = new Uint8Array(wrapped);
  other[40]! ^= 1;
  assert.ok(!verifyCopyTag(r.privateKey, p, other, tag));
  // Someone with only the public keys (no sender secret) cannot make it.
  const e = generateTransportKeyPair();
  assert.ok(!verifyCopyTag(r.privateKey, p, wrapped, copyTag(e.privateKey, p, wrapped)));
});

test('made in one enclave, adopted by another from the attested sender only', async () => {
  const [a, b, c] = nodes as [(typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0]];
  const made = await a.enclave.integrity.create();
  const check = await a.enclave.integrity.install(made.sealed);
  assert.equal(check, made.check);
  assert.equal(b.enclave.integrity.check(), undefined, 'a cluster enclave makes no key of its own');

  const [copy] = await a.enclave.integrity.wrap({
    recipients: [{ nodeId: 'b', attestation: b.attestation }],
  });
  assert.ok(copy);
  // Not the key in the clear, and only for b.
  const got = await b.enclave.integrity.adopt({
    wrapped: copy.wrapped,
    tag: copy.tag,
    sender: { nodeId: 'a', attestation: a.attestation },
  });
  assert.equal(got.check, check);
  await assert.rejects(
    c.enclave.integrity.adopt({
      wrapped: copy.wrapped,
      tag: copy.tag,
      sender: { nodeId: 'a', attestation: a.attestation },
    }),
    refused,
  );
  // The same copy said to come from another attested node: refused.
  await assert.rejects(
    b.enclave.integrity.adopt({
      wrapped: copy.wrapped,
      tag: copy.tag,
      sender: { nodeId: 'c', attestation: c.attestation },
    }),
    refused,
  );
  // A wrap to a recipient that is not attested by the cluster CA: refused before anything is wrapped.
  const stranger = generateTransportKeyPair();
  const otherCa = await createCa('Someone else');
  const fake = signAttestation(
    {
      type: ATTESTATION_TYPE_SOFTWARE_V1,
      nodeId: 'x',
      region: 'eu',
      level: 1,
      transportPublicKey: '0x' + Buffer.from(stranger.publicKey).toString('hex'),
      enclaveKind: 'software',
      issuedAt: Date.now() - 1000,
      expiresAt: Date.now() + 86_400_000,
    },
    otherCa.keyPem,
  );
  await assert.rejects(
    a.enclave.integrity.wrap({ recipients: [{ nodeId: 'x', attestation: fake }] }),
    refused,
  );
});

test('a key of the attacker’s own, wrapped to the joining node’s public key, is refused', async () => {
  const [a, , c] = nodes as [(typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0]];
  // What an etcd writer can make: the right format, the right binding, to c's public transport key.
  const plaintext = new Uint8Array(33);
  plaintext[0] = 0x11;
  plaintext.set(randomBytes(32), 1);
  const wrapped = wrapToNode(plaintext, c.pub, {
    keyId: '@integrity',
    version: 1,
    algorithm: 'ed25519',
    nodeId: 'c',
  });
  for (const tag of [new Uint8Array(32), new Uint8Array(randomBytes(32))])
    await assert.rejects(
      c.enclave.integrity.adopt({ wrapped, tag, sender: { nodeId: 'a', attestation: a.attestation } }),
      refused,
    );
  assert.equal(c.enclave.integrity.check(), undefined);
});
