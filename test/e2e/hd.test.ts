// End to end, against a real node process: HD wallets. Roots made inside the enclave (hd: true)
// and imported from a BIP39 mnemonic; the "abandon … about" mnemonic gives the published BIP84,
// BIP86 and BIP44 Ethereum first addresses and account keys through GET /v1/keys/{id}/derive;
// signatures at a path verify with noble against the derived key (secp256k1 ECDSA, Ed25519 over
// SLIP-10); Ethereum and PSBT signing at a path, judged by ethers and bitcoinjs-lib; derived
// Ethereum addresses become JSON-RPC accounts. Bad input is 400, never 500. Finally no mnemonic,
// passphrase, seed or private key is in any answer, audit entry, log line or file of the data dir
// (the generated roots' mnemonics are unknown even to the test, so every answer, log and file is
// also searched for any run of 12 BIP39 words).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { HDKey } from '@scure/bip32';
import { generateMnemonic, mnemonicToSeedSync } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import * as bitcoin from 'bitcoinjs-lib';
import { Transaction, verifyMessage } from 'ethers';
import { HDKey as Slip10Key } from 'micro-key-producer/slip10.js';
import * as ecc from 'tiny-secp256k1';
import { removeDir, startNode, type TestNode } from '../helpers/node.js';
import { validator } from '../helpers/psbt.js';

bitcoin.initEccLib(ecc);

const ABANDON =
  'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';
const ETH0 = "m/44'/60'/0'/0/0";
const hex = (b: Uint8Array) => '0x' + Buffer.from(b).toString('hex');
const unhex = (s: string) => Uint8Array.from(Buffer.from(s.slice(2), 'hex'));
const q = (path: string) => encodeURIComponent(path);

type Err = { error: { code: string; message: string } };
interface Key {
  id: string;
  algorithm: string;
  publicKey: string;
  addresses: Record<string, string>;
  hd?: boolean;
  fingerprint?: string;
  xpub?: string;
}
interface Derived {
  path: string;
  publicKey: string;
  addresses: {
    ethereum?: string;
  } & Partial<Record<'bitcoin' | 'testnet' | 'regtest', { p2wpkh: string; p2tr: string }>>;
  xpub?: string;
}

let node: TestNode;
/** Secrets the scan at the end looks for, in every encoding. */
const secrets: { label: string; key: Buffer }[] = [];
const secretTexts: { label: string; text: string }[] = [];
let abandonK1: Key;
let abandonEd: Key;

function assertError(r: { status: number; body: unknown }, status: number, code?: string): Err['error'] {
  assert.equal(r.status, status, JSON.stringify(r.body));
  const e = (r.body as Err).error;
  assert.match(e?.code ?? '', /^[A-Z_]+$/, JSON.stringify(r.body));
  if (code) assert.equal(e.code, code, e.message);
  return e;
}

const derive = (id: string, path: string, tok?: string | null) =>
  node.api<Derived>('GET', `/v1/keys/${id}/derive?path=${q(path)}`, undefined, tok);

async function derived(id: string, path: string): Promise<Derived> {
  const r = await derive(id, path);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

async function importMnemonic(name: string, algorithm: string, mnemonic: string, passphrase?: string) {
  const r = await node.api<Key>('POST', '/v1/keys/import', {
    name,
    algorithm,
    mnemonic,
    ...(passphrase === undefined ? {} : { passphrase }),
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

before(async () => {
  node = await startNode({ args: ['--log-level', 'debug'] });
});
after(async () => {
  await node.stop();
  removeDir(node.dataDir);
});

test('POST /v1/keys with hd: an HD root on secp256k1 and ed25519; p256 and a non-boolean are 400', async () => {
  for (const algorithm of ['secp256k1', 'ed25519']) {
    const r = await node.api<Key>('POST', '/v1/keys', { name: `hd-made-${algorithm}`, algorithm, hd: true });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const k = r.body;
    assert.equal(k.hd, true);
    assert.match(k.fingerprint!, /^0x[0-9a-f]{8}$/);
    assert.equal(k.publicKey.length, algorithm === 'secp256k1' ? 68 : 66);
    assert.deepEqual(k.addresses, {}, 'an HD root has no address of its own');
    if (algorithm === 'secp256k1') {
      // The master xpub: its key is the root's public key, and it is never an xprv.
      assert.match(k.xpub!, /^xpub/);
      const x = HDKey.fromExtendedKey(k.xpub!);
      assert.equal(hex(x.publicKey!), k.publicKey);
      assert.equal(x.privateKey, null);
      assert.equal(x.depth, 0);
      assert.equal(
        hex(Uint8Array.from(Buffer.from(x.fingerprint.toString(16).padStart(8, '0'), 'hex'))),
        k.fingerprint,
      );
    } else {
      assert.equal(k.xpub, undefined);
    }
    assert.deepEqual((await node.api<Key>('GET', `/v1/keys/${k.id}`)).body, k);
    // It derives and signs at a path; the signature verifies against the derived key.
    const path = algorithm === 'secp256k1' ? ETH0 : "m/44'/501'/0'/0'";
    const child = await derived(k.id, path);
    const message = new TextEncoder().encode('from a generated root');
    const s = await node.api<{ signature: string }>('POST', `/v1/keys/${k.id}/sign`, {
      message: hex(message),
      path,
    });
    assert.equal(s.status, 200, JSON.stringify(s.body));
    assert.ok(
      algorithm === 'secp256k1'
        ? secp256k1.verify(unhex(s.body.signature), message, unhex(child.publicKey))
        : ed25519.verify(unhex(s.body.signature), message, unhex(child.publicKey)),
    );
  }
  const a = await node.api<Key>('POST', '/v1/keys', { name: 'hd-made-2', algorithm: 'secp256k1', hd: true });
  assert.notEqual(
    a.body.publicKey,
    (await node.api<{ keys: Key[] }>('GET', '/v1/keys?name=hd-made-secp256k1')).body.keys[0]!.publicKey,
  );
  assertError(await node.api('POST', '/v1/keys', { name: 'hd-p256', algorithm: 'p256', hd: true }), 400);
  assertError(await node.api('POST', '/v1/keys', { name: 'hd-str', algorithm: 'secp256k1', hd: 'yes' }), 400);
  // hd: false is an ordinary key.
  const plain = await node.api<Key>('POST', '/v1/keys', {
    name: 'hd-false',
    algorithm: 'secp256k1',
    hd: false,
  });
  assert.equal(plain.status, 201);
  assert.equal(plain.body.hd, undefined);
  assert.match(plain.body.addresses.ethereum!, /^0x[0-9a-fA-F]{40}$/);
});

test('"abandon … about" imported: BIP84, BIP86 and BIP44 Ethereum first addresses, account xpubs', async () => {
  abandonK1 = await importMnemonic('abandon-k1', 'secp256k1', ABANDON);
  assert.equal(abandonK1.hd, true);
  assert.equal(abandonK1.fingerprint, '0x73c5da0a');
  assert.equal(
    abandonK1.xpub,
    'xpub661MyMwAqRbcFkPHucMnrGNzDwb6teAX1RbKQmqtEF8kK3Z7LZ59qafCjB9eCRLiTVG3uxBxgKvRgbubRhqSKXnGGb1aoaqLrpMBDrVxga8',
  );

  const p84 = await derived(abandonK1.id, "m/84'/0'/0'/0/0");
  assert.equal(p84.path, "m/84'/0'/0'/0/0");
  assert.equal(p84.addresses.bitcoin!.p2wpkh, 'bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu');
  const p86 = await derived(abandonK1.id, 'm/86h/0h/0h/0/0');
  assert.equal(p86.path, "m/86'/0'/0'/0/0", 'the canonical spelling comes back');
  assert.equal(p86.addresses.bitcoin!.p2tr, 'bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr');
  const eth = await derived(abandonK1.id, ETH0);
  assert.equal(eth.addresses.ethereum, '0x9858EfFD232B4033E47d90003D41EC34EcaEda94');
  for (const n of ['bitcoin', 'testnet', 'regtest'] as const) {
    assert.match(eth.addresses[n]!.p2wpkh, /^(bc|tb|bcrt)1q/);
    assert.match(eth.addresses[n]!.p2tr, /^(bc|tb|bcrt)1p/);
  }

  // Account-level extended public keys: BIP84's published zpub (same key and chain code) and
  // BIP86's published xpub.
  const acct84 = HDKey.fromExtendedKey((await derived(abandonK1.id, "m/84'/0'/0'")).xpub!);
  const zpub = HDKey.fromExtendedKey(
    'zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs',
    { private: 0x04b2430c, public: 0x04b24746 },
  );
  assert.equal(hex(acct84.publicKey!), hex(zpub.publicKey!));
  assert.equal(hex(acct84.chainCode!), hex(zpub.chainCode!));
  assert.equal(acct84.parentFingerprint, zpub.parentFingerprint);
  assert.equal(
    (await derived(abandonK1.id, "m/86'/0'/0'")).xpub,
    'xpub6BgBgsespWvERF3LHQu6CnqdvfEvtMcQjYrcRzx53QJjSxarj2afYWcLteoGVky7D3UKDP9QyrLprQ3VCECoY49yfdDEHGCtMMj92pReUsQ',
  );
  // The master itself, by name.
  assert.equal((await derived(abandonK1.id, 'm')).publicKey, abandonK1.publicKey);
});

test('signing a digest at a path: noble verifies it against the derived key; verify takes the path', async () => {
  const digest = createHash('sha256').update('hd e2e digest').digest();
  const eth = await derived(abandonK1.id, ETH0);
  const r = await node.api<{ signature: string; recoveryId: number }>(
    'POST',
    `/v1/keys/${abandonK1.id}/sign`,
    {
      digest: hex(digest),
      path: ETH0,
    },
  );
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.ok(secp256k1.verify(unhex(r.body.signature), digest, unhex(eth.publicKey), { prehash: false }));
  // RFC 6979 is deterministic: the same signature a wallet holding the child key makes.
  const child = HDKey.fromMasterSeed(mnemonicToSeedSync(ABANDON)).derive(ETH0);
  assert.equal(r.body.signature, hex(secp256k1.sign(digest, child.privateKey!, { prehash: false })));
  const recovered = secp256k1.Signature.fromBytes(unhex(r.body.signature))
    .addRecoveryBit(r.body.recoveryId)
    .recoverPublicKey(digest);
  assert.equal(hex(recovered.toBytes(true)), eth.publicKey);
  // Not the master's signature.
  assert.ok(
    !secp256k1.verify(unhex(r.body.signature), digest, unhex(abandonK1.publicKey), { prehash: false }),
  );

  const v = (body: object) => node.api<{ valid: boolean }>('POST', `/v1/keys/${abandonK1.id}/verify`, body);
  assert.deepEqual((await v({ digest: hex(digest), signature: r.body.signature, path: ETH0 })).body, {
    valid: true,
  });
  assert.deepEqual(
    (await v({ digest: hex(digest), signature: r.body.signature, path: "m/44'/60'/0'/0/1" })).body,
    {
      valid: false,
    },
  );
  assertError(await v({ digest: hex(digest), signature: r.body.signature }), 400);

  // An HD root signs only at a path.
  const e = assertError(
    await node.api('POST', `/v1/keys/${abandonK1.id}/sign`, { digest: hex(digest) }),
    400,
  );
  assert.match(e.message, /HD root.*path/);
});

test('Ed25519 roots: SLIP-10 derivation and signing at a hardened path; non-hardened steps are 400', async () => {
  abandonEd = await importMnemonic('abandon-ed', 'ed25519', ABANDON);
  assert.equal(abandonEd.hd, true);
  assert.equal(abandonEd.xpub, undefined);
  const slip = Slip10Key.fromMasterSeed(mnemonicToSeedSync(ABANDON));
  assert.equal(abandonEd.publicKey, hex(slip.publicKeyRaw));
  assert.equal(abandonEd.fingerprint, '0x' + slip.fingerprintHex);
  const path = "m/44'/501'/0'/0'";
  const child = await derived(abandonEd.id, path);
  assert.equal(child.publicKey, hex(slip.derive(path).publicKeyRaw));
  assert.deepEqual(child.addresses, {});
  assert.equal(child.xpub, undefined);
  const message = new TextEncoder().encode('ed25519 at a path');
  const s = await node.api<{ signature: string }>('POST', `/v1/keys/${abandonEd.id}/sign`, {
    message: hex(message),
    path,
  });
  assert.equal(s.status, 200, JSON.stringify(s.body));
  assert.ok(ed25519.verify(unhex(s.body.signature), message, unhex(child.publicKey), { zip215: false }));
  assert.equal(s.body.signature, hex(ed25519.sign(message, slip.derive(path).privateKey)));

  for (const bad of ["m/44'/501'/0'/0", 'm/0', "m/44'/501/0'"]) {
    const e = assertError(await derive(abandonEd.id, bad), 400, 'INVALID_REQUEST');
    assert.match(e.message, /not hardened/);
    assertError(
      await node.api('POST', `/v1/keys/${abandonEd.id}/sign`, { message: hex(message), path: bad }),
      400,
    );
  }
});

test('a BIP39 passphrase makes another wallet; a fresh 24-word mnemonic with one imports', async () => {
  const mnemonic = generateMnemonic(wordlist, 256);
  const passphrase = `pass ${randomBytes(8).toString('hex')} ✓`;
  const k = await importMnemonic('secret-mnemonic', 'secp256k1', mnemonic, passphrase);
  const seed = mnemonicToSeedSync(mnemonic, passphrase);
  const root = HDKey.fromMasterSeed(seed);
  assert.equal(k.publicKey, hex(root.publicKey!));
  const path = "m/84'/0'/0'/0/5";
  assert.equal((await derived(k.id, path)).publicKey, hex(root.derive(path).publicKey!));
  // Signing there, so that the child's key is used (and searched for below).
  const s = await node.api('POST', `/v1/keys/${k.id}/sign`, { digest: hex(randomBytes(32)), path });
  assert.equal(s.status, 200);
  secretTexts.push(
    { label: 'imported mnemonic', text: mnemonic },
    { label: 'BIP39 passphrase', text: passphrase },
  );
  secrets.push(
    { label: 'BIP39 seed', key: Buffer.from(seed) },
    { label: 'master private key', key: Buffer.from(root.privateKey!) },
    { label: 'master chain code', key: Buffer.from(root.chainCode!) },
    { label: 'child private key', key: Buffer.from(root.derive(path).privateKey!) },
    { label: 'entropy', key: Buffer.from(mnemonicToEntropyHex(mnemonic), 'hex') },
  );
  // Without the passphrase: a different wallet.
  const other = await importMnemonic('secret-mnemonic-nopass', 'secp256k1', mnemonic);
  assert.notEqual(other.publicKey, k.publicKey);
  assert.equal(other.publicKey, hex(HDKey.fromMasterSeed(mnemonicToSeedSync(mnemonic)).publicKey!));
});

function mnemonicToEntropyHex(m: string): string {
  const bits = m
    .split(' ')
    .map((w) => wordlist.indexOf(w).toString(2).padStart(11, '0'))
    .join('');
  const ent = bits.slice(0, (bits.length * 32) / 33);
  return Buffer.from(ent.match(/.{8}/g)!.map((b) => parseInt(b, 2))).toString('hex');
}

test('Ethereum signing at a path: the transaction is from the derived address (ethers judges)', async () => {
  const tx = {
    chainId: '1',
    nonce: '0',
    to: '0x8ba1f109551bD432803012645Ac136ddd64DBA72',
    value: '1',
    gas: '21000',
    maxFeePerGas: '2000000000',
    maxPriorityFeePerGas: '1',
  };
  const r = await node.api<{ rawTransaction: string; from: string }>(
    'POST',
    `/v1/keys/${abandonK1.id}/ethereum/transaction`,
    { transaction: tx, path: ETH0 },
  );
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.from, '0x9858EfFD232B4033E47d90003D41EC34EcaEda94');
  assert.equal(Transaction.from(r.body.rawTransaction).from, '0x9858EfFD232B4033E47d90003D41EC34EcaEda94');
  const m = await node.api<{ signature: string }>('POST', `/v1/keys/${abandonK1.id}/ethereum/message`, {
    message: 'hello',
    path: "m/44'/60'/0'/0/1",
  });
  assert.equal(m.status, 200);
  assert.equal(
    verifyMessage('hello', m.body.signature),
    (await derived(abandonK1.id, "m/44'/60'/0'/0/1")).addresses.ethereum,
  );
  // Without a path an HD root has no key to sign with: 400 before anything is signed or audited.
  assertError(
    await node.api('POST', `/v1/keys/${abandonK1.id}/ethereum/transaction`, { transaction: tx }),
    400,
    'INVALID_REQUEST',
  );
});

test('a PSBT naming the root by master fingerprint and path is signed (bitcoinjs-lib judges)', async () => {
  const root = HDKey.fromMasterSeed(mnemonicToSeedSync(ABANDON));
  const fp = Buffer.from(abandonK1.fingerprint!.slice(2), 'hex');
  const P84 = "m/84'/0'/0'/0/0";
  const P86 = "m/86'/0'/0'/0/0";
  const at = (p: string) => root.derive(p).publicKey!;
  const net = bitcoin.networks.bitcoin;
  const wpkh = bitcoin.payments.p2wpkh({ pubkey: at(P84), network: net });
  const tr = bitcoin.payments.p2tr({ internalPubkey: at(P86).slice(1), network: net });
  assert.equal(wpkh.address, 'bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu');
  assert.equal(tr.address, 'bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr');
  const psbt = new bitcoin.Psbt({ network: net });
  psbt.addInput({
    hash: Buffer.alloc(32, 7),
    index: 0,
    witnessUtxo: { script: wpkh.output!, value: 50_000n },
    bip32Derivation: [{ masterFingerprint: fp, pubkey: at(P84), path: P84 }],
  });
  psbt.addInput({
    hash: Buffer.alloc(32, 8),
    index: 1,
    witnessUtxo: { script: tr.output!, value: 50_000n },
    tapInternalKey: at(P86).slice(1),
    tapBip32Derivation: [{ masterFingerprint: fp, pubkey: at(P86).slice(1), path: P86, leafHashes: [] }],
  });
  psbt.addOutput({ address: wpkh.address!, value: 99_000n });
  const r = await node.api<{ psbt: string; signedInputs: number[] }>(
    'POST',
    `/v1/keys/${abandonK1.id}/bitcoin/psbt`,
    { psbt: psbt.toBase64(), network: 'bitcoin' },
  );
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.signedInputs, [0, 1]);
  const signed = bitcoin.Psbt.fromBase64(r.body.psbt, { network: net });
  assert.equal(signed.validateSignaturesOfAllInputs(validator), true);
  signed.finalizeAllInputs();
  assert.ok(signed.extractTransaction().toHex().length > 0);

  // With a path, an input paying to that child's script (no derivation record) is signed too.
  const bare = new bitcoin.Psbt({ network: net });
  bare.addInput({
    hash: Buffer.alloc(32, 9),
    index: 0,
    witnessUtxo: { script: wpkh.output!, value: 20_000n },
  });
  bare.addOutput({ address: wpkh.address!, value: 19_000n });
  const withPath = await node.api<{ psbt: string; signedInputs: number[] }>(
    'POST',
    `/v1/keys/${abandonK1.id}/bitcoin/psbt`,
    { psbt: bare.toBase64(), network: 'bitcoin', path: P84 },
  );
  assert.equal(withPath.status, 200, JSON.stringify(withPath.body));
  assert.deepEqual(withPath.body.signedInputs, [0]);
  assert.equal(bitcoin.Psbt.fromBase64(withPath.body.psbt).validateSignaturesOfAllInputs(validator), true);
});

test('derived Ethereum addresses are JSON-RPC accounts of the tokens that may use the root', async () => {
  const rpc = async (method: string, params: unknown[], tok?: string) =>
    (
      await node.api<{ result?: unknown; error?: { code: number; message: string } }>(
        'POST',
        '/rpc',
        { jsonrpc: '2.0', id: 1, method, params },
        tok,
      )
    ).body;
  const fresh = await importMnemonic('rpc-root', 'secp256k1', ABANDON, 'rpc');
  const tok = (
    await node.api<{ token: string }>('POST', '/v1/tokens', {
      name: 'hd-rpc',
      scopes: ['keys:sign', 'keys:read'],
      keyIds: [fresh.id],
    })
  ).body.token;
  assert.deepEqual((await rpc('eth_accounts', [], tok)).result, [], 'nothing derived yet');
  const a0 = (await derive(fresh.id, ETH0, tok)).body.addresses.ethereum!;
  const a1 = (await derive(fresh.id, "m/44'/60'/0'/0/1", tok)).body.addresses.ethereum!;
  await derive(fresh.id, ETH0, tok); // again: recorded once
  assert.deepEqual((await rpc('eth_accounts', [], tok)).result, [a0, a1]);
  assert.deepEqual((await rpc('account_list', [], tok)).result, [a0, a1]);
  // The admin token sees them among every other account; a token for another key does not.
  const all = (await rpc('eth_accounts', [], node.adminToken)).result as string[];
  assert.ok(all.includes(a0) && all.includes(a1));
  assert.ok(all.includes('0x9858EfFD232B4033E47d90003D41EC34EcaEda94'), 'the abandon root derived it above');
  assert.ok(!all.includes(abandonK1.addresses.ethereum ?? 'none'));
  const otherTok = (
    await node.api<{ token: string }>('POST', '/v1/tokens', {
      name: 'hd-rpc-other',
      scopes: ['keys:sign'],
      keyIds: [abandonEd.id],
    })
  ).body.token;
  assert.deepEqual((await rpc('eth_accounts', [], otherTok)).result, []);

  // Signing through /rpc from a derived address uses the child at its path.
  const sig = (await rpc('personal_sign', ['0x68656c6c6f', a1], tok)).result as string;
  assert.equal(verifyMessage('hello', sig), a1);
  const raw = (
    await rpc(
      'eth_signTransaction',
      [
        {
          from: a0,
          to: a1,
          chainId: '0x1',
          nonce: '0x0',
          gas: '0x5208',
          gasPrice: '0x3b9aca00',
          value: '0x1',
        },
      ],
      tok,
    )
  ).result as string;
  assert.equal(Transaction.from(raw).from, a0);
  const unknown = await rpc('personal_sign', ['0x68656c6c6f', a1], otherTok);
  assert.ok(unknown.error, 'a token without the root does not sign for its accounts');
  // A deactivated root's accounts leave the list and are refused (409 → JSON-RPC error).
  assert.equal((await node.api('POST', `/v1/keys/${fresh.id}/state`, { state: 'deactivated' })).status, 200);
  assert.deepEqual((await rpc('eth_accounts', [], tok)).result, []);
  const refused = await rpc('personal_sign', ['0x68656c6c6f', a1], tok);
  assert.ok(refused.error);
  assert.match(refused.error.message, /deactivated/);
  // Deriving still works for a deactivated root (public data), signing does not.
  assert.equal((await derive(fresh.id, ETH0, tok)).status, 200);
});

test('refusals are 400 (never 500): mnemonics, paths, kinds of key, algorithms', async () => {
  const words = ABANDON.split(' ');
  const cases: {
    label: string;
    method: string;
    path: string;
    body?: unknown;
    code?: string;
    message?: RegExp;
  }[] = [
    {
      label: 'bad checksum',
      method: 'POST',
      path: '/v1/keys/import',
      body: { name: 'x1', algorithm: 'secp256k1', mnemonic: words.slice(0, 11).concat('abandon').join(' ') },
      message: /checksum/,
    },
    {
      label: 'unknown word',
      method: 'POST',
      path: '/v1/keys/import',
      body: {
        name: 'x2',
        algorithm: 'secp256k1',
        mnemonic: [...words.slice(0, 6), 'bitcoinz', ...words.slice(7)].join(' '),
      },
      message: /word 7 /,
    },
    {
      label: 'wrong count',
      method: 'POST',
      path: '/v1/keys/import',
      body: { name: 'x3', algorithm: 'secp256k1', mnemonic: [...words, 'abandon'].join(' ') },
      message: /12, 15, 18, 21 or 24/,
    },
    {
      label: 'empty mnemonic',
      method: 'POST',
      path: '/v1/keys/import',
      body: { name: 'x4', algorithm: 'secp256k1', mnemonic: '' },
    },
    {
      label: 'mnemonic not a string',
      method: 'POST',
      path: '/v1/keys/import',
      body: { name: 'x5', algorithm: 'secp256k1', mnemonic: words },
    },
    {
      label: 'mnemonic and privateKey',
      method: 'POST',
      path: '/v1/keys/import',
      body: { name: 'x6', algorithm: 'secp256k1', mnemonic: ABANDON, privateKey: '0x' + '11'.repeat(32) },
      message: /exactly one/,
    },
    {
      label: 'neither',
      method: 'POST',
      path: '/v1/keys/import',
      body: { name: 'x7', algorithm: 'secp256k1' },
      message: /exactly one/,
    },
    {
      label: 'passphrase with privateKey',
      method: 'POST',
      path: '/v1/keys/import',
      body: { name: 'x8', algorithm: 'secp256k1', privateKey: '0x' + '11'.repeat(32), passphrase: 'p' },
    },
    {
      label: 'p256 mnemonic',
      method: 'POST',
      path: '/v1/keys/import',
      body: { name: 'x9', algorithm: 'p256', mnemonic: ABANDON },
    },
    {
      label: 'long mnemonic',
      method: 'POST',
      path: '/v1/keys/import',
      body: { name: 'x10', algorithm: 'secp256k1', mnemonic: 'abandon '.repeat(200) },
    },
    {
      label: 'p256 hd',
      method: 'POST',
      path: '/v1/keys',
      body: { name: 'x11', algorithm: 'p256', hd: true },
    },
  ];
  for (const bad of [
    '',
    'm/',
    "44'/0'",
    'm//1',
    'm/2147483648',
    "m/1''",
    'm/01',
    'M/1',
    'm/-1',
    'm/1x',
    'm' + "/0'".repeat(33),
  ])
    cases.push({
      label: `malformed path ${JSON.stringify(bad)}`,
      method: 'GET',
      path: `/v1/keys/${abandonK1.id}/derive?path=${q(bad)}`,
    });
  cases.push(
    { label: 'derive without path', method: 'GET', path: `/v1/keys/${abandonK1.id}/derive` },
    {
      label: 'derive with another query field',
      method: 'GET',
      path: `/v1/keys/${abandonK1.id}/derive?path=m&x=1`,
    },
    {
      label: 'sign with a malformed path',
      method: 'POST',
      path: `/v1/keys/${abandonK1.id}/sign`,
      body: { digest: hex(randomBytes(32)), path: 'm/x' },
    },
    {
      label: 'sign with a numeric path',
      method: 'POST',
      path: `/v1/keys/${abandonK1.id}/sign`,
      body: { digest: hex(randomBytes(32)), path: 44 },
    },
    {
      label: 'ed25519 digest at a path',
      method: 'POST',
      path: `/v1/keys/${abandonEd.id}/sign`,
      body: { digest: hex(randomBytes(32)), path: "m/0'" },
    },
  );
  const single = await node.api<Key>('POST', '/v1/keys', { name: 'single-k1', algorithm: 'secp256k1' });
  cases.push(
    {
      label: 'derive on a single key',
      method: 'GET',
      path: `/v1/keys/${single.body.id}/derive?path=${q("m/0'")}`,
      message: /HD/,
    },
    {
      label: 'path on a single key',
      method: 'POST',
      path: `/v1/keys/${single.body.id}/sign`,
      body: { digest: hex(randomBytes(32)), path: "m/0'" },
      message: /HD/,
    },
    {
      label: 'path on a single key (ethereum)',
      method: 'POST',
      path: `/v1/keys/${single.body.id}/ethereum/message`,
      body: { message: 'x', path: "m/0'" },
      message: /HD/,
    },
  );
  for (const c of cases) {
    const r = await node.api(c.method, c.path, c.body);
    const e = assertError(r, 400, c.code);
    if (c.message) assert.match(e.message, c.message, c.label);
    // A refusal never quotes a word of the mnemonic it refused.
    for (const w of ['abandon', 'about', 'bitcoinz'])
      assert.ok(!e.message.includes(w), `${c.label}: ${e.message}`);
  }
  assertError(await derive('0190d9a4-0000-7000-8000-000000000000', 'm'), 404);
  // A destroyed root derives nothing (409), and a token without keys:read may not derive (403).
  const gone = await importMnemonic('hd-gone', 'ed25519', ABANDON);
  assert.equal((await node.api('DELETE', `/v1/keys/${gone.id}`)).status, 200);
  assertError(await derive(gone.id, "m/0'"), 409);
  const signOnly = (
    await node.api<{ token: string }>('POST', '/v1/tokens', { name: 'sign-only', scopes: ['keys:sign'] })
  ).body.token;
  assertError(await derive(abandonK1.id, 'm', signOnly), 403);
});

test('derivations are audited as allowed uses, with the path; no mnemonic in the audit', async () => {
  const audit = await node.api<{
    entries: { action: string; keyId?: string; outcome: string; details?: Record<string, unknown> }[];
  }>('GET', '/v1/audit?limit=1000');
  assert.equal(audit.status, 200);
  const derives = audit.body.entries.filter((e) => e.action === 'key.derive' && e.keyId === abandonK1.id);
  assert.ok(derives.some((e) => e.outcome === 'allowed' && e.details?.path === "m/84'/0'/0'/0/0"));
  const imported = audit.body.entries.find((e) => e.action === 'key.import' && e.keyId === abandonK1.id);
  assert.equal(imported?.details?.hd, true);
  assert.equal(imported?.details?.fingerprint, '0x73c5da0a');
  const signedAt = audit.body.entries.find((e) => e.action === 'key.sign' && e.keyId === abandonK1.id);
  assert.equal(signedAt?.details?.path, ETH0);
  assert.ok(
    audit.body.entries.some((e) => e.action === 'key.import' && e.outcome === 'error'),
    'refused imports are audited',
  );
});

// ---- the secret scan ---------------------------------------------------------------------------

/** Every encoding a secret's bytes could take (as test/e2e/secrets.test.ts searches). */
function forms(key: Buffer): { form: string; needle: Buffer }[] {
  const out = [
    { form: 'raw', needle: key },
    { form: 'hex', needle: Buffer.from(key.toString('hex'), 'latin1') },
    { form: 'HEX', needle: Buffer.from(key.toString('hex').toUpperCase(), 'latin1') },
  ];
  for (const enc of ['base64', 'base64url'] as const) {
    for (let shift = 0; shift < 3; shift++) {
      const s = Buffer.concat([Buffer.alloc(shift), key]).toString(enc);
      const end = Math.floor((shift + key.length) / 3) * 4;
      out.push({ form: `${enc}@${shift}`, needle: Buffer.from(s.slice(shift === 0 ? 0 : 4, end), 'latin1') });
    }
  }
  return out;
}

const WORDS = new Set(wordlist);
/** The longest run of consecutive BIP39 words in `text` (words split on anything not a-z). */
function longestWordRun(text: string): number {
  let best = 0;
  let run = 0;
  for (const w of text.toLowerCase().split(/[^a-z]+/)) {
    run = WORDS.has(w) ? run + 1 : 0;
    best = Math.max(best, run);
  }
  return best;
}

function assertNoSecret(where: string, haystack: Buffer): void {
  for (const s of secrets)
    for (const f of forms(s.key))
      assert.ok(!haystack.includes(f.needle), `${s.label} (${f.form}) found in ${where}`);
  for (const t of secretTexts) {
    assert.ok(!haystack.includes(Buffer.from(t.text, 'utf8')), `${t.label} found in ${where}`);
    assert.ok(
      !haystack.includes(Buffer.from(JSON.stringify(t.text).slice(1, -1), 'utf8')),
      `${t.label} (JSON) in ${where}`,
    );
  }
  // Any mnemonic at all, generated ones included: 12 BIP39 words in a row. (The abandon mnemonic
  // is public and never sent to this node outside requests; it must not be echoed either.)
  const run = longestWordRun(haystack.toString('latin1'));
  assert.ok(run < 12, `${run} BIP39 words in a row in ${where}`);
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) out.push(...walk(p));
    else if (st.isFile()) out.push(p);
  }
  return out;
}

test('no mnemonic, passphrase, seed or HD private key in answers, audit, metrics, logs or the data dir', async () => {
  assert.ok(secrets.length >= 5 && secretTexts.length === 2, 'the secrets were made');
  // The detector itself: it finds a mnemonic however it is spaced or quoted.
  assert.equal(longestWordRun(ABANDON), 12);
  assert.equal(longestWordRun(JSON.stringify({ m: secretTexts[0]!.text.toUpperCase().split(' ') })), 24);
  assertNoSecret(
    'GET /v1/keys',
    Buffer.from(JSON.stringify((await node.api('GET', '/v1/keys?limit=1000')).body)),
  );
  assertNoSecret(
    'GET /v1/audit',
    Buffer.from(JSON.stringify((await node.api('GET', '/v1/audit?limit=1000')).body)),
  );
  const metrics = await node.api<string>('GET', '/metrics', undefined, null);
  assertNoSecret('/metrics', Buffer.from(metrics.body));
  const running = walk(node.dataDir);
  assert.ok(
    running.some((f) => f.endsWith('-wal')),
    'the scan covers the SQLite WAL files',
  );
  for (const f of running) assertNoSecret(relative(node.dataDir, f), readFileSync(f));
  assert.equal(await node.stop('SIGTERM'), 0);
  for (const f of walk(node.dataDir))
    assertNoSecret(`${relative(node.dataDir, f)} (stopped)`, readFileSync(f));
  assert.match(node.stderr(), /"msg":"request"/, 'debug logging was on');
  assertNoSecret('stdout', Buffer.from(node.stdout()));
  assertNoSecret('stderr', Buffer.from(node.stderr()));
});
