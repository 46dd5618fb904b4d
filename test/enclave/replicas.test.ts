// Replicas through the real software enclave pool in cluster mode (enclave/software/worker.ts,
// "cluster" section): the transport key made once and kept sealed, keys wrapped at creation to
// attested recipients only (the attestation checked inside the enclave against the CA), a
// replica that signs at the node it was made for and nowhere else, HD seeds carried whole, and
// re-wrapping a replica for a node that joins later.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { HDKey } from '@scure/bip32';
import { mnemonicToSeedSync } from '@scure/bip39';
import type { ReplicaRecipient, SealedKeyRef, WrappedReplica } from '../../src/enclave/enclave.js';
import {
  ATTESTATION_TYPE_SOFTWARE_V1,
  signAttestation,
  type Attestation,
} from '../../src/enclave/crypto/attestation.js';
import { createSoftwareEnclave, type SoftwareEnclave } from '../../src/enclave/software/pool.js';
import { createCa, type CertificateAuthority } from '../../src/tls/certs.js';
import { makeTempDir, type TempDir } from '../helpers/tmp.js';
import { KeymeshError, type ErrorCode } from '../../src/errors.js';
import { hex } from './_support.js';

async function expectCode(p: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof KeymeshError, String(e));
    assert.equal(e.code, code, e.message);
    return true;
  });
}

interface Node {
  id: string;
  region: string;
  level: number;
  dir: TempDir;
  enclave: SoftwareEnclave;
  attestation: Attestation;
}

let ca: CertificateAuthority;
let otherCa: CertificateAuthority;
const nodes: Node[] = [];

function attest(n: { id: string; region: string; level: number }, pub: Uint8Array, key = ca.keyPem) {
  const now = Date.now();
  return signAttestation(
    {
      type: ATTESTATION_TYPE_SOFTWARE_V1,
      nodeId: n.id,
      region: n.region,
      level: n.level,
      transportPublicKey: '0x' + hex(pub),
      enclaveKind: 'software',
      issuedAt: now - 1000,
      expiresAt: now + 86_400_000,
    },
    key,
  );
}

async function startNode(id: string, region: string, level: number, dir = makeTempDir(`replica-${id}`)) {
  const enclave = await createSoftwareEnclave({
    dataDir: dir.dir,
    dev: true,
    threads: 2,
    cluster: { nodeId: id, ca: ca.certPem },
  });
  const node: Node = { id, region, level, dir, enclave, attestation: undefined as unknown as Attestation };
  node.attestation = attest(node, enclave.transportPublicKey());
  return node;
}

const to = (...ns: Node[]): ReplicaRecipient[] =>
  ns.map((n) => ({ nodeId: n.id, attestation: n.attestation }));

before(async () => {
  ca = await createCa('Keymesh cluster CA');
  otherCa = await createCa('Someone else');
  nodes.push(await startNode('a', 'eu', 2), await startNode('b', 'eu', 3), await startNode('c', 'us', 1));
});

after(async () => {
  for (const n of nodes) {
    await n.enclave.close();
    await n.dir.cleanup();
  }
});

const digest = new Uint8Array(32).fill(7);

test('a key generated with replicas signs at every recipient, only through its own replica', async () => {
  const [a, b, c] = nodes as [Node, Node, Node];
  const made = await a.enclave.generate({
    keyId: 'k1',
    version: 1,
    algorithm: 'secp256k1',
    replicas: { recipients: to(a, b, c) },
  });
  assert.deepEqual(
    made.replicas?.map((r) => r.nodeId),
    ['a', 'b', 'c'],
  );
  for (const [i, n] of [a, b, c].entries()) {
    const r: WrappedReplica = made.replicas![i]!;
    assert.equal(r.transportPublicKey, '0x' + hex(n.enclave.transportPublicKey()));
    const ref: SealedKeyRef = {
      keyId: 'k1',
      version: 1,
      algorithm: 'secp256k1',
      sealed: r.wrapped,
      replica: true,
    };
    const sig = await n.enclave.sign(ref, { digest });
    assert.ok(secp256k1.verify(sig.signature, digest, made.publicKey, { prehash: false }), n.id);
  }
  // b's replica opens nowhere else, nor under another key id or version.
  const bRef: SealedKeyRef = {
    keyId: 'k1',
    version: 1,
    algorithm: 'secp256k1',
    sealed: made.replicas![1]!.wrapped,
    replica: true,
  };
  await expectCode(a.enclave.sign(bRef, { digest }), 'ENCLAVE_FAILURE');
  await expectCode(b.enclave.sign({ ...bRef, keyId: 'k2' }, { digest }), 'ENCLAVE_FAILURE');
  await expectCode(b.enclave.sign({ ...bRef, version: 2 }, { digest }), 'ENCLAVE_FAILURE');
  // And no replica byte sequence contains the sealed blob's plaintext: checked by the wrap tests;
  // here, the local sealed blob still signs as before.
  const local = await a.enclave.sign(
    { keyId: 'k1', version: 1, algorithm: 'secp256k1', sealed: made.sealed },
    { digest },
  );
  assert.ok(secp256k1.verify(local.signature, digest, made.publicKey, { prehash: false }));
});

test('an imported Ed25519 key and an HD root (the whole 64-byte seed) travel as replicas', async () => {
  const [a, b] = nodes as [Node, Node];
  const seed32 = new Uint8Array(32).fill(9);
  const pub = ed25519.getPublicKey(seed32);
  const imp = await a.enclave.importKey({
    keyId: 'ed',
    version: 1,
    algorithm: 'ed25519',
    privateKey: Uint8Array.from(seed32),
    replicas: { recipients: to(b) },
  });
  assert.deepEqual(imp.publicKey, pub);
  const msg = new TextEncoder().encode('hello');
  const sig = await b.enclave.sign(
    { keyId: 'ed', version: 1, algorithm: 'ed25519', sealed: imp.replicas![0]!.wrapped, replica: true },
    { message: msg },
  );
  assert.ok(ed25519.verify(sig.signature, msg, pub));

  const words =
    'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';
  const hd = await a.enclave.importMnemonic({
    keyId: 'hd',
    version: 1,
    algorithm: 'secp256k1',
    mnemonic: new TextEncoder().encode(words),
    replicas: { recipients: to(b) },
  });
  const child = HDKey.fromMasterSeed(mnemonicToSeedSync(words)).derive("m/84'/0'/0'/0/0");
  const ref: SealedKeyRef = {
    keyId: 'hd',
    version: 1,
    algorithm: 'secp256k1',
    sealed: hd.replicas![0]!.wrapped,
    replica: true,
  };
  const hsig = await b.enclave.sign(ref, { digest, path: "m/84'/0'/0'/0/0" });
  assert.ok(secp256k1.verify(hsig.signature, digest, child.publicKey!, { prehash: false }));
  const derived = await b.enclave.derive(ref, "m/84'/0'/0'/0/0");
  assert.deepEqual(derived.publicKey, child.publicKey);
});

test('recipients are checked inside the enclave: attestation, node id, placement constraint', async () => {
  const [a, b, c] = nodes as [Node, Node, Node];
  const req = (recipients: ReplicaRecipient[], constraint?: { regions?: string[]; minLevel?: number }) => ({
    keyId: 'x',
    version: 1,
    algorithm: 'secp256k1' as const,
    replicas: constraint ? { recipients, constraint } : { recipients },
  });
  // Signed by another CA.
  const forged = { nodeId: 'b', attestation: attest(b, b.enclave.transportPublicKey(), otherCa.keyPem) };
  await expectCode(a.enclave.generate(req([...to(a), forged])), 'FORBIDDEN');
  // b's attestation presented for c.
  await expectCode(a.enclave.generate(req([{ nodeId: 'c', attestation: b.attestation }])), 'FORBIDDEN');
  // Attested region or level outside the placement.
  await expectCode(a.enclave.generate(req(to(a, c), { regions: ['eu'] })), 'FORBIDDEN');
  await expectCode(a.enclave.generate(req(to(a, b), { minLevel: 3 })), 'FORBIDDEN');
  const ok = await a.enclave.generate(req(to(a, b), { regions: ['eu'], minLevel: 2 }));
  assert.equal(ok.replicas?.length, 2);
  await expectCode(a.enclave.generate(req([])), 'INVALID_REQUEST');
  await expectCode(a.enclave.generate(req(to(a, a))), 'INVALID_REQUEST');
});

test('wrapReplicas re-wraps from a replica for a node that joins later; the transport key survives a restart', async () => {
  const [a, b] = nodes as [Node, Node];
  const made = await a.enclave.generate({
    keyId: 'late',
    version: 3,
    algorithm: 'p256',
    replicas: { recipients: to(a) },
  });
  const d = await startNode('d', 'eu', 5);
  nodes.push(d);
  // a re-wraps from its own replica (as a holder does at sync) to b and d.
  const aRef: SealedKeyRef = {
    keyId: 'late',
    version: 3,
    algorithm: 'p256',
    sealed: made.replicas![0]!.wrapped,
    replica: true,
  };
  const more = await a.enclave.wrapReplicas(aRef, { recipients: to(b, d) });
  const dRef: SealedKeyRef = { ...aRef, sealed: more[1]!.wrapped };
  const sig = await d.enclave.sign(dRef, { digest });
  assert.equal(sig.signature.length, 64);
  const before = d.enclave.transportPublicKey();
  await d.enclave.close();
  d.enclave = await createSoftwareEnclave({
    dataDir: d.dir.dir,
    dev: true,
    threads: 1,
    cluster: { nodeId: 'd', ca: ca.certPem },
  });
  assert.deepEqual(d.enclave.transportPublicKey(), before);
  const again = await d.enclave.sign(dRef, { digest });
  assert.equal(again.signature.length, 64);
});

test('outside cluster mode there is no transport key and no replica', async () => {
  const dir = makeTempDir('replica-single');
  const e = await createSoftwareEnclave({ dataDir: dir.dir, dev: true, threads: 1 });
  try {
    assert.throws(() => e.transportPublicKey(), /cluster mode/);
    const made = await e.generate({ keyId: 'k', version: 1, algorithm: 'secp256k1' });
    await expectCode(
      e.sign(
        { keyId: 'k', version: 1, algorithm: 'secp256k1', sealed: made.sealed, replica: true },
        { digest },
      ),
      'INVALID_REQUEST',
    );
  } finally {
    await e.close();
    await dir.cleanup();
  }
});
