// End to end: imported private keys leave no trace outside the enclave. A node logging at debug
// level imports secp256k1, P-256 and Ed25519 keys (over HTTP and through the CLI), signs with
// them, and is sent the same kind of secrets in requests it refuses. Then every file under the
// data dir (SQLite databases with their WAL and SHM files, the sealing key, everything, while the
// node runs and after it stops), the node's whole stdout and stderr, and the bodies of
// GET /v1/keys, GET /v1/audit and /metrics are searched for each private key as raw bytes,
// lowercase and uppercase hex, base64 and base64url (at every byte alignment). None may appear.
// The admin token is likewise absent from the node's output and from the audit log.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { api, removeDir, runCli, startNode, tempDir, type TestNode } from '../helpers/node.js';

/** The secret part of `kmt_<id>_<secret>` (base64url: it may itself hold underscores). */
const secretOf = (token: string) => token.slice(token.indexOf('_', 4) + 1);

const hex = (b: Uint8Array) => '0x' + Buffer.from(b).toString('hex');

/** 32 random bytes that are a valid scalar on every curve here (non-zero, far below each order). */
function newSecret(): Buffer {
  const b = randomBytes(32);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return b;
}

/**
 * The forms a key's bytes could take. Base64 depends on where the bytes start inside a longer
 * encoded blob, so for each of the three alignments only the characters fixed by the key's own
 * bytes are searched (at least 40 characters, 30 bytes of key: no false alarms).
 */
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

interface Secret {
  label: string;
  key: Buffer;
}

/** Assert no secret appears in `haystack`, in any form. */
function assertAbsent(where: string, haystack: Buffer, secrets: Secret[]): void {
  for (const s of secrets)
    for (const f of forms(s.key))
      assert.ok(!haystack.includes(f.needle), `${s.label} (${f.form}) found in ${where}`);
}

let node: TestNode;
let work: string;
const secrets: Secret[] = [];
let scopedToken = '';

before(async () => {
  node = await startNode({ args: ['--log-level', 'debug'] });
  work = tempDir('keymesh-secrets-');
});
after(async () => {
  await node.stop();
  removeDir(node.dataDir);
  removeDir(work);
});

test('import and use: the keys are sealed and sign correctly', async () => {
  const digest = new Uint8Array(createHash('sha256').update('secret scan').digest());
  const message = new TextEncoder().encode('secret scan message');

  const keys: Record<string, { id: string; priv: Buffer }> = {};
  for (const algorithm of ['secp256k1', 'p256'] as const) {
    const priv = newSecret();
    secrets.push({ label: `${algorithm} private key`, key: priv });
    const r = await node.api<{ id: string; publicKey: string }>('POST', '/v1/keys/import', {
      name: `secret-${algorithm}`,
      algorithm,
      privateKey: hex(priv),
    });
    assert.equal(r.status, 201);
    const curve = algorithm === 'p256' ? p256 : secp256k1;
    assert.equal(r.body.publicKey, hex(curve.getPublicKey(priv, true)));
    keys[algorithm] = { id: r.body.id, priv };
  }
  // Ed25519 through the CLI, the private key on stdin.
  const edPriv = newSecret();
  secrets.push({ label: 'ed25519 private key', key: edPriv });
  const cli = await runCli(
    [
      'keys',
      'import',
      '--name',
      'secret-ed25519',
      '--algorithm',
      'ed25519',
      '--private-key-file',
      '-',
      '--json',
      '--url',
      node.url,
      '--data-dir',
      node.dataDir,
    ],
    { input: edPriv.toString('hex'), cwd: work },
  );
  assert.equal(cli.code, 0, cli.stderr);
  const ed = JSON.parse(cli.stdout) as { id: string; publicKey: string };
  assert.equal(ed.publicKey, hex(ed25519.getPublicKey(edPriv)));
  assertAbsent('the CLI output', Buffer.from(cli.stdout + cli.stderr), secrets);
  keys.ed25519 = { id: ed.id, priv: edPriv };

  // A second secp256k1 key through the CLI from a file (then the file is gone).
  const filePriv = newSecret();
  secrets.push({ label: 'secp256k1 key from a file', key: filePriv });
  const file = join(work, 'key.hex');
  writeFileSync(file, hex(filePriv) + '\n', { mode: 0o600 });
  const fromFile = await runCli(
    [
      'keys',
      'import',
      '--name',
      'secret-file',
      '--algorithm',
      'secp256k1',
      '--private-key-file',
      file,
      '--url',
      node.url,
      '--data-dir',
      node.dataDir,
    ],
    { cwd: work },
  );
  assert.equal(fromFile.code, 0, fromFile.stderr);
  removeDir(file);
  keys.file = { id: /^id:\s+(\S+)$/m.exec(fromFile.stdout)![1]!, priv: filePriv };

  for (const [alg, k] of Object.entries(keys)) {
    const msg = await node.api<{ signature: string }>('POST', `/v1/keys/${k.id}/sign`, {
      message: hex(message),
    });
    assert.equal(msg.status, 200, alg);
    const v = await node.api<{ valid: boolean }>('POST', `/v1/keys/${k.id}/verify`, {
      message: hex(message),
      signature: msg.body.signature,
    });
    assert.deepEqual(v.body, { valid: true });
    if (alg === 'ed25519') {
      assert.equal(msg.body.signature, hex(ed25519.sign(message, k.priv)));
      continue;
    }
    const d = await node.api<{ signature: string }>('POST', `/v1/keys/${k.id}/sign`, { digest: hex(digest) });
    assert.equal(d.status, 200, alg);
    const curve = alg === 'p256' ? p256 : secp256k1;
    assert.equal(d.body.signature, hex(curve.sign(digest, k.priv, { prehash: false })));
  }

  const t = await node.api<{ token: string }>('POST', '/v1/tokens', {
    name: 'scoped',
    scopes: ['keys:sign'],
    keyIds: [keys.secp256k1!.id],
  });
  assert.equal(t.status, 201);
  scopedToken = t.body.token;
  assert.equal(
    (await node.api('POST', `/v1/keys/${keys.secp256k1!.id}/sign`, { digest: hex(digest) }, scopedToken))
      .status,
    200,
  );
});

test('refused imports do not echo or log the key they carried', async () => {
  const refused = (label: string) => {
    const key = newSecret();
    secrets.push({ label: `refused import: ${label}`, key });
    return key;
  };
  const cases: { label: string; body: (k: Buffer) => unknown; token?: string | null; status: number }[] = [
    {
      label: 'duplicate name',
      body: (k) => ({ name: 'secret-p256', algorithm: 'p256', privateKey: hex(k) }),
      status: 409,
    },
    {
      label: 'unknown algorithm',
      body: (k) => ({ name: 'r1', algorithm: 'rsa', privateKey: hex(k) }),
      status: 400,
    },
    {
      label: 'extra field',
      body: (k) => ({ name: 'r2', algorithm: 'p256', privateKey: hex(k), note: 1 }),
      status: 400,
    },
    {
      label: 'one byte too long',
      body: (k) => ({ name: 'r3', algorithm: 'p256', privateKey: hex(k) + 'ab' }),
      status: 400,
    },
    {
      label: 'not hex',
      body: (k) => ({ name: 'r4', algorithm: 'p256', privateKey: hex(k) + 'zz' }),
      status: 400,
    },
    {
      label: 'base64 instead of hex',
      body: (k) => ({ name: 'r5', algorithm: 'p256', privateKey: k.toString('base64') }),
      status: 400,
    },
    {
      label: 'malformed JSON',
      body: (k) => `{"name": "r6", "algorithm": "p256", "privateKey": "${hex(k)}"`,
      status: 400,
    },
    {
      label: 'no token',
      body: (k) => ({ name: 'r7', algorithm: 'p256', privateKey: hex(k) }),
      token: null,
      status: 401,
    },
    {
      label: 'wrong token',
      body: (k) => ({ name: 'r8', algorithm: 'p256', privateKey: hex(k) }),
      token: scopedToken,
      status: 403,
    },
  ];
  for (const c of cases) {
    const key = refused(c.label);
    const r = await api<unknown>(
      node.url,
      'POST',
      '/v1/keys/import',
      c.body(key),
      c.token === undefined ? node.adminToken : c.token,
    );
    assert.equal(r.status, c.status, `${c.label}: ${JSON.stringify(r.body)}`);
    assertAbsent(`the answer to a refused import (${c.label})`, Buffer.from(JSON.stringify(r.body)), secrets);
  }
  // The one key that is not valid for its curve, as 400: the secp256k1 order, a public constant.
  const order = 'fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141';
  const r = await node.api<{ error: { code: string; message: string } }>('POST', '/v1/keys/import', {
    name: 'order',
    algorithm: 'secp256k1',
    privateKey: '0x' + order,
  });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'INVALID_KEY');
  assert.ok(!r.body.error.message.toLowerCase().includes(order.slice(0, 16)));
});

test('GET /v1/keys, GET /v1/audit and /metrics hold no private key and no token', async () => {
  const keys = await node.api('GET', '/v1/keys?limit=1000');
  assert.equal(keys.status, 200);
  assertAbsent('GET /v1/keys', Buffer.from(JSON.stringify(keys.body)), secrets);
  const audit = await node.api<{ entries: unknown[] }>('GET', '/v1/audit?limit=1000');
  assert.equal(audit.status, 200);
  assert.ok(audit.body.entries.length > 10);
  const auditText = JSON.stringify(audit.body);
  assertAbsent('GET /v1/audit', Buffer.from(auditText), secrets);
  assert.match(scopedToken, /^kmt_/, 'the scoped token was made');
  for (const t of [node.adminToken, scopedToken]) {
    assert.ok(!auditText.includes(t) && !auditText.includes(secretOf(t)), 'no token in the audit');
  }
  const metrics = await node.api<string>('GET', '/metrics', undefined, null);
  assert.equal(metrics.status, 200);
  assert.match(metrics.body, /keymesh_signatures_total/);
  assertAbsent('/metrics', Buffer.from(metrics.body), secrets);
});

test('no file in the data dir, running or stopped, and no line of output holds a private key', async () => {
  // While the node runs: the SQLite write-ahead logs are there and hold the latest writes.
  const running = walk(node.dataDir);
  assert.ok(
    running.some((f) => f.endsWith('-wal')),
    `the scan covers the WAL files (found ${running.map((f) => relative(node.dataDir, f)).join(', ')})`,
  );
  assert.match(scopedToken, /^kmt_/, 'the scoped token was made');
  const tokenSecrets = [node.adminToken, scopedToken].flatMap((t) => [t, secretOf(t)]);
  for (const t of [node.adminToken, scopedToken]) assert.equal(secretOf(t).length, 43);
  const scan = (files: string[]) => {
    for (const f of files) {
      const content = readFileSync(f);
      const rel = relative(node.dataDir, f);
      assertAbsent(rel, content, secrets);
      if (rel !== 'admin.token')
        for (const t of tokenSecrets) assert.ok(!content.includes(t), `a token secret is stored in ${rel}`);
    }
  };
  scan(running);

  assert.equal(await node.stop('SIGTERM'), 0);
  scan(walk(node.dataDir));

  const out = node.stdout();
  const err = node.stderr();
  assert.match(err, /"msg":"request"/, 'debug logging was on: every request was logged');
  assert.ok(err.includes('/v1/keys/import'), 'the refused imports were logged');
  assertAbsent('stdout', Buffer.from(out), secrets);
  assertAbsent('stderr', Buffer.from(err), secrets);
  for (const t of tokenSecrets) {
    assert.ok(!out.includes(t), 'a token on stdout');
    assert.ok(!err.includes(t), 'a token on stderr');
  }
  assert.ok(out.includes(join(node.dataDir, 'admin.token')), 'stdout names the admin token file');
});
