// The software enclave through its real worker pool (enclave/software/): generate, import, sign
// and verify for every algorithm and scheme, judged by noble; concurrency across workers; error
// codes crossing the thread boundary; the caller's private key zeroed; a failing call or a dead
// worker leaving the pool serving; passphrase unseal; the signer cache and its eviction.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { getRandomValues } from 'node:crypto';
import { secp256k1, schnorr } from '@noble/curves/secp256k1.js';
import { p256 } from '@noble/curves/nist.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import type { Algorithm, SealedKeyRef, SignRequest } from '../../src/enclave/enclave.js';
import { createSoftwareEnclave, type SoftwareEnclave } from '../../src/enclave/software/pool.js';
import { taprootOutputKey } from '../../src/enclave/crypto/secp256k1.js';
import { makeTempDir, type TempDir } from '../helpers/tmp.js';
import { expectCodeAsync, hex, utf8 } from './_support.js';

const rand = (n: number) => getRandomValues(new Uint8Array(n));
const ALGS: Algorithm[] = ['secp256k1', 'p256', 'ed25519'];
const CHEAP = { m: 8 * 1024, t: 1, p: 1 };

let tmp: TempDir;
let enclave: SoftwareEnclave;
let n = 0;
const newId = () => `key-${++n}`;

before(async () => {
  tmp = makeTempDir('enclave-pool');
  enclave = await createSoftwareEnclave({ dataDir: tmp.dir, dev: true, threads: 2 });
});

after(async () => {
  await enclave.close();
  await tmp.cleanup();
});

async function make(algorithm: Algorithm): Promise<{ ref: SealedKeyRef; publicKey: Uint8Array }> {
  const keyId = newId();
  const k = await enclave.generate({ keyId, version: 1, algorithm });
  return { ref: { keyId, version: 1, algorithm, sealed: k.sealed }, publicKey: k.publicKey };
}

/** Judge a signature with noble, not with the code under test. */
function nobleAccepts(
  algorithm: Algorithm,
  publicKey: Uint8Array,
  req: SignRequest,
  signature: Uint8Array,
): boolean {
  if (algorithm === 'ed25519') return ed25519.verify(signature, req.message!, publicKey, { zip215: false });
  if (req.scheme === 'schnorr') return schnorr.verify(signature, req.digest!, publicKey.subarray(1));
  if (req.scheme === 'schnorr-taproot')
    return schnorr.verify(signature, req.digest!, taprootOutputKey(publicKey));
  const curve = algorithm === 'p256' ? p256 : secp256k1;
  return req.digest
    ? curve.verify(signature, req.digest, publicKey, { prehash: false })
    : curve.verify(signature, req.message!, publicKey);
}

test('generate, sign and verify every algorithm and scheme through the pool', async () => {
  for (const algorithm of ALGS) {
    const { ref, publicKey } = await make(algorithm);
    assert.equal(publicKey.length, algorithm === 'ed25519' ? 32 : 33);
    const reqs: SignRequest[] =
      algorithm === 'ed25519'
        ? [{ message: utf8('hello') }, { message: new Uint8Array(0) }]
        : [{ digest: rand(32) }, { message: utf8('hello') }];
    if (algorithm === 'secp256k1')
      reqs.push({ digest: rand(32), scheme: 'schnorr' }, { digest: rand(32), scheme: 'schnorr-taproot' });
    for (const req of reqs) {
      const res = await enclave.sign(ref, req);
      assert.equal(res.signature.length, 64);
      assert.equal(res.recoveryId !== undefined, algorithm === 'secp256k1' && !req.scheme);
      assert.ok(nobleAccepts(algorithm, publicKey, req, res.signature), `${algorithm} ${req.scheme ?? ''}`);
      const v = { algorithm, publicKey, ...req, signature: res.signature };
      assert.equal(await enclave.verify(v), true);
      const bad = new Uint8Array(res.signature);
      bad[10]! ^= 4;
      assert.equal(await enclave.verify({ ...v, signature: bad }), false);
    }
  }
});

test('import: the public key matches, the caller buffer is zeroed, and the key signs', async () => {
  for (const algorithm of ALGS) {
    const secret =
      algorithm === 'ed25519' ? rand(32) : (algorithm === 'p256' ? p256 : secp256k1).utils.randomSecretKey();
    const expected =
      algorithm === 'ed25519'
        ? ed25519.getPublicKey(secret)
        : (algorithm === 'p256' ? p256 : secp256k1).getPublicKey(secret, true);
    const privateKey = new Uint8Array(secret);
    const keyId = newId();
    const k = await enclave.importKey({ keyId, version: 1, algorithm, privateKey });
    assert.deepEqual(privateKey, new Uint8Array(32), 'caller buffer zeroed');
    assert.equal(hex(k.publicKey), hex(expected));
    const req = algorithm === 'ed25519' ? { message: utf8('m') } : { digest: rand(32) };
    const { signature } = await enclave.sign({ keyId, version: 1, algorithm, sealed: k.sealed }, req);
    assert.ok(nobleAccepts(algorithm, k.publicKey, req, signature));
    if (algorithm === 'ed25519') assert.equal(hex(signature), hex(ed25519.sign(req.message!, secret)));
    else
      assert.equal(
        hex(signature),
        hex((algorithm === 'p256' ? p256 : secp256k1).sign(req.digest!, secret, { prehash: false })),
      );
  }
});

test('import of an invalid key: INVALID_KEY or INVALID_REQUEST, and the buffer is still zeroed', async () => {
  const zero = new Uint8Array(32);
  await expectCodeAsync(
    enclave.importKey({ keyId: newId(), version: 1, algorithm: 'secp256k1', privateKey: zero }),
    'INVALID_KEY',
  );
  const order = new Uint8Array(
    Buffer.from('fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141', 'hex'),
  );
  await expectCodeAsync(
    enclave.importKey({ keyId: newId(), version: 1, algorithm: 'secp256k1', privateKey: order }),
    'INVALID_KEY',
  );
  assert.deepEqual(order, new Uint8Array(32), 'zeroed even though refused');
  const big = new Uint8Array(32).fill(0xff);
  await expectCodeAsync(
    enclave.importKey({ keyId: newId(), version: 1, algorithm: 'p256', privateKey: big }),
    'INVALID_KEY',
  );
  assert.deepEqual(big, new Uint8Array(32));
  const short = rand(31);
  await expectCodeAsync(
    enclave.importKey({ keyId: newId(), version: 1, algorithm: 'ed25519', privateKey: short }),
    'INVALID_REQUEST',
  );
  assert.deepEqual(short, new Uint8Array(31));
  await expectCodeAsync(
    enclave.importKey({ keyId: '', version: 1, algorithm: 'ed25519', privateKey: rand(32) }),
    'INVALID_REQUEST',
  );
});

test('concurrent requests spread over the workers and all come back right', async () => {
  const keys = await Promise.all(ALGS.map((a) => make(a)));
  const jobs = Array.from({ length: 300 }, (_, i) => {
    const { ref, publicKey } = keys[i % keys.length]!;
    const req: SignRequest = ref.algorithm === 'ed25519' ? { message: rand(i % 50) } : { digest: rand(32) };
    return enclave
      .sign(ref, req)
      .then((r) => ({ ok: nobleAccepts(ref.algorithm, publicKey, req, r.signature) }));
  });
  const results = await Promise.all(jobs);
  assert.ok(results.every((r) => r.ok));
  const stats = await enclave.stats();
  assert.equal(stats.length, 2);
  assert.ok(
    stats.every((s) => s.signed > 0),
    'both workers signed: ' + JSON.stringify(stats),
  );
});

test('errors cross the boundary with their codes, and a failing call does not harm the pool', async () => {
  const { ref, publicKey } = await make('secp256k1');
  const tampered = new Uint8Array(ref.sealed);
  tampered[20]! ^= 1;
  await expectCodeAsync(enclave.sign({ ...ref, sealed: tampered }, { digest: rand(32) }), 'ENCLAVE_FAILURE');
  await expectCodeAsync(enclave.sign({ ...ref, keyId: 'another' }, { digest: rand(32) }), 'ENCLAVE_FAILURE');
  await expectCodeAsync(enclave.sign({ ...ref, version: 2 }, { digest: rand(32) }), 'ENCLAVE_FAILURE');
  await expectCodeAsync(enclave.sign({ ...ref, algorithm: 'p256' }, { digest: rand(32) }), 'ENCLAVE_FAILURE');
  await expectCodeAsync(enclave.sign(ref, { digest: rand(31) }), 'INVALID_REQUEST');
  await expectCodeAsync(enclave.sign(ref, { digest: rand(32), scheme: 'ed25519' }), 'UNSUPPORTED');
  await expectCodeAsync(enclave.sign(ref, { digest: rand(32), path: "m/44'/60'/0'/0/0" }), 'INVALID_REQUEST');
  await expectCodeAsync(enclave.sign(ref, { digest: () => 1 } as unknown as SignRequest), 'INVALID_REQUEST');
  const ed = await make('ed25519');
  await expectCodeAsync(enclave.sign(ed.ref, { digest: rand(32) }), 'UNSUPPORTED');
  await expectCodeAsync(
    enclave.verify({ algorithm: 'secp256k1', publicKey: rand(5), digest: rand(32), signature: rand(64) }),
    'INVALID_REQUEST',
  );
  // Still serving.
  const req = { digest: rand(32) };
  const res = await enclave.sign(ref, req);
  assert.ok(nobleAccepts('secp256k1', publicKey, req, res.signature));
  assert.equal(enclave.liveWorkers, 2);
});

test('a worker that dies is replaced, taking the sealing key from a sibling', async () => {
  const { ref, publicKey } = await make('p256');
  // Calls in flight on the dying worker fail with ENCLAVE_FAILURE; none hangs, none is wrong.
  const inFlight = Array.from({ length: 40 }, async () => {
    const req = { digest: rand(32) };
    return nobleAccepts('p256', publicKey, req, (await enclave.sign(ref, req)).signature);
  });
  await enclave._terminateWorker(0);
  for (const r of await Promise.allSettled(inFlight)) {
    if (r.status === 'fulfilled') assert.equal(r.value, true);
    else assert.equal((r.reason as { code?: string }).code, 'ENCLAVE_FAILURE');
  }
  const deadline = Date.now() + 10_000;
  while (enclave.liveWorkers < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(enclave.liveWorkers, 2);
  const results = await Promise.all(
    Array.from({ length: 20 }, async () => {
      const req = { digest: rand(32) };
      return nobleAccepts('p256', publicKey, req, (await enclave.sign(ref, req)).signature);
    }),
  );
  assert.ok(results.every(Boolean));
});

test('the signer cache: hits on reuse, evict() drops it, and it never serves another blob', async () => {
  const { ref } = await make('ed25519');
  const hits = (s: { hits: number }[]) => s.reduce((a, b) => a + b.hits, 0);
  const cached = (s: { cached: number }[]) => s.reduce((a, b) => a + b.cached, 0);
  const before = await enclave.stats();
  for (let i = 0; i < 10; i++) await enclave.sign(ref, { message: rand(8) });
  const mid = await enclave.stats();
  assert.ok(hits(mid) - hits(before) >= 8, 'repeat signatures come from the cache');
  await enclave.evict(ref.keyId);
  assert.ok(cached(await enclave.stats()) < cached(mid), 'evicted');

  // Two different keys under one key id and version (as after a re-import): each blob must sign
  // with its own key, whichever is cached.
  const keyId = newId();
  const a = await enclave.generate({ keyId, version: 1, algorithm: 'secp256k1' });
  const b = await enclave.generate({ keyId, version: 1, algorithm: 'secp256k1' });
  for (let i = 0; i < 6; i++) {
    for (const k of [a, b]) {
      const req = { digest: rand(32) };
      const { signature } = await enclave.sign(
        { keyId, version: 1, algorithm: 'secp256k1', sealed: k.sealed },
        req,
      );
      assert.ok(nobleAccepts('secp256k1', k.publicKey, req, signature));
    }
  }
});

test('a pool with the cache off still signs', async () => {
  const t = makeTempDir('enclave-nocache');
  const e = await createSoftwareEnclave({ dataDir: t.dir, dev: true, threads: 1, cache: { max: 0 } });
  try {
    for (const algorithm of ALGS) {
      const k = await e.generate({ keyId: 'k', version: 1, algorithm });
      const req = algorithm === 'ed25519' ? { message: utf8('x') } : { digest: rand(32) };
      for (let i = 0; i < 3; i++) {
        const { signature } = await e.sign({ keyId: 'k', version: 1, algorithm, sealed: k.sealed }, req);
        assert.ok(nobleAccepts(algorithm, k.publicKey, req, signature));
      }
    }
    const [s] = await e.stats();
    assert.equal(s!.cached, 0);
    assert.equal(s!.hits, 0);
  } finally {
    await e.close();
    await t.cleanup();
  }
});

test('passphrase mode: unseal on restart, wrong passphrase refused, passphrase zeroed', async () => {
  const t = makeTempDir('enclave-pass-pool');
  try {
    const pass = utf8('pool passphrase');
    const given = new Uint8Array(pass);
    const e1 = await createSoftwareEnclave({
      dataDir: t.dir,
      dev: false,
      passphrase: given,
      threads: 2,
      argon2: CHEAP,
    });
    assert.deepEqual(given, new Uint8Array(pass.length), 'the passphrase buffer is zeroed after start');
    const k = await e1.generate({ keyId: 'p', version: 1, algorithm: 'secp256k1' });
    await e1.close();
    await expectCodeAsync(
      e1.sign({ keyId: 'p', version: 1, algorithm: 'secp256k1', sealed: k.sealed }, { digest: rand(32) }),
      'UNAVAILABLE',
    );

    const e2 = await createSoftwareEnclave({
      dataDir: t.dir,
      dev: false,
      passphrase: new Uint8Array(pass),
      threads: 2,
    });
    const req = { digest: rand(32) };
    const { signature } = await e2.sign(
      { keyId: 'p', version: 1, algorithm: 'secp256k1', sealed: k.sealed },
      req,
    );
    assert.ok(nobleAccepts('secp256k1', k.publicKey, req, signature));
    await e2.close();

    const wrong = utf8('not the passphrase');
    await expectCodeAsync(
      createSoftwareEnclave({ dataDir: t.dir, dev: false, passphrase: wrong, threads: 2 }),
      'ENCLAVE_FAILURE',
      /^wrong unseal passphrase$/,
    );
    assert.deepEqual(wrong, new Uint8Array(wrong.length), 'zeroed on failure too');
    await expectCodeAsync(
      createSoftwareEnclave({ dataDir: t.dir, dev: false, threads: 1 }),
      'ENCLAVE_FAILURE',
    );
    // The directory is sealed with a passphrase for life: a dev start would make a second key.
    await expectCodeAsync(
      createSoftwareEnclave({ dataDir: t.dir, dev: true, threads: 1 }),
      'ENCLAVE_FAILURE',
      /sealed with an unseal passphrase/,
    );
    // And a blob sealed under another node's sealing key does not open here.
    const t2 = makeTempDir('enclave-other-node');
    const e3 = await createSoftwareEnclave({ dataDir: t2.dir, dev: true, threads: 1 });
    await expectCodeAsync(
      e3.sign({ keyId: 'p', version: 1, algorithm: 'secp256k1', sealed: k.sealed }, req),
      'ENCLAVE_FAILURE',
    );
    await e3.close();
    await t2.cleanup();
  } finally {
    await t.cleanup();
  }
});

test('options are checked', async () => {
  await expectCodeAsync(createSoftwareEnclave({ dataDir: '', dev: true }), 'INVALID_REQUEST');
  await expectCodeAsync(
    createSoftwareEnclave({ dataDir: tmp.dir, dev: true, threads: 0 }),
    'INVALID_REQUEST',
  );
  await expectCodeAsync(
    createSoftwareEnclave({ dataDir: tmp.dir, dev: true, threads: 1.5 }),
    'INVALID_REQUEST',
  );
  await expectCodeAsync(
    createSoftwareEnclave({ dataDir: tmp.dir, dev: true, passphrase: utf8('x') }),
    'INVALID_REQUEST',
  );
});
