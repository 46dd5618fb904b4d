// End to end: the `keymesh` command against a real node process. Every client subcommand of the
// README's tour (keys, tokens, audit), its readable and --json output, the four ways a token is
// found (--token, KEYMESH_TOKEN, --token-file, the data dir's admin.token), and the documented
// exit codes (client.ts EXIT) with one clear line on stderr. Signatures are judged by
// @noble/curves, not by the node.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { Transaction as BtcTransaction, p2wpkh } from '@scure/btc-signer';
import { Transaction, keccak256, toUtf8Bytes, verifyMessage, verifyTypedData } from 'ethers';
import { MAIL, MAIL_TYPES } from '../fixtures/eip712-mail.js';
import { newId } from '../../src/util/ids.js';
import { REPO_ROOT, removeDir, runCli, startNode, tempDir, type TestNode } from '../helpers/node.js';

/** The secret part of `kmt_<id>_<secret>` (base64url: it may itself hold underscores). */
const secretOf = (token: string) => token.slice(token.indexOf('_', 4) + 1);

// The CLI reads these; the test decides them explicitly.
for (const v of ['KEYMESH_TOKEN', 'KEYMESH_TOKEN_FILE', 'KEYMESH_DATA_DIR', 'KEYMESH_URL', 'KEYMESH_HTTP'])
  delete process.env[v];

const EXIT = { error: 1, usage: 2, auth: 3, notFound: 4, conflict: 5, unavailable: 6 };

type Result = Awaited<ReturnType<typeof runCli>>;
interface Key {
  id: string;
  name: string;
  algorithm: string;
  publicKey: string;
  addresses: Record<string, string>;
  state: string;
  labels: Record<string, string>;
}

const hex = (b: Uint8Array) => '0x' + Buffer.from(b).toString('hex');
const bytes = (h: string) => new Uint8Array(Buffer.from(h.slice(2), 'hex'));
const sha256 = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());
const utf8 = (s: string) => new TextEncoder().encode(s);

let node: TestNode;
/** The CLI's working directory: empty, so no ./.keymesh/admin.token can stand in for a missing token. */
let work: string;

before(async () => {
  node = await startNode();
  work = tempDir('keymesh-cli-');
});
after(async () => {
  await node.stop();
  removeDir(node.dataDir);
  removeDir(work);
});

interface KmOptions {
  input?: string;
  env?: Record<string, string>;
  /** Add `--data-dir` of the test node (its admin.token is the default credential). Default true. */
  dataDir?: boolean;
}

/** The CLI against the test node. */
function km(args: string[], opts: KmOptions = {}): Promise<Result> {
  return runCli(
    [...args, '--url', node.url, ...(opts.dataDir === false ? [] : ['--data-dir', node.dataDir])],
    {
      cwd: work,
      ...(opts.input === undefined ? {} : { input: opts.input }),
      ...(opts.env ? { env: opts.env } : {}),
    },
  );
}

/** Success: exit 0, nothing on stderr. */
function ok(r: Result): string {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  assert.equal(r.stderr, '');
  return r.stdout;
}

async function kmJson<T>(args: string[], opts: KmOptions = {}): Promise<T> {
  return JSON.parse(ok(await km([...args, '--json'], opts))) as T;
}

/** A failure: the expected exit code, nothing on stdout, exactly one `keymesh: ...` line on stderr. */
function fails(r: Result, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, `expected exit ${code}, got ${r.code}: ${r.stderr}`);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^keymesh: [^\n]+\n$/, `one line on stderr, got ${JSON.stringify(r.stderr)}`);
  assert.match(r.stderr, pattern);
}

/** `key: value` lines of the readable output. */
function block(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.trimEnd().split('\n')) {
    const m = /^([A-Za-z]+):\s+(.*)$/.exec(line);
    assert.ok(m, `not a "key: value" line: ${line}`);
    out[m[1]!] = m[2]!;
  }
  return out;
}

/** Rows of a printed table, header first, split on runs of two or more spaces. */
function table(stdout: string): string[][] {
  return stdout
    .trimEnd()
    .split('\n')
    .map((l) => l.split(/ {2,}/));
}

function writeSecret(name: string, content: string): string {
  const p = join(work, name);
  writeFileSync(p, content, { mode: 0o600 });
  return p;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

const PRIV = {
  secp256k1: new Uint8Array(32).fill(0x21),
  p256: new Uint8Array(32).fill(0x22),
  ed25519: new Uint8Array(32).fill(0x23),
};
const imported: Record<string, Key> = {};

describe('keys', () => {
  test('create, each algorithm: a readable key block, and --json equal to GET /v1/keys/{id}', async () => {
    for (const [algorithm, len] of [
      ['secp256k1', 33],
      ['p256', 33],
      ['ed25519', 32],
    ] as const) {
      const r = await km([
        'keys',
        'create',
        '--name',
        `cli-${algorithm}`,
        '--algorithm',
        algorithm,
        '--label',
        'team=ops',
        '--label',
        'env=a=b',
      ]);
      const b = block(ok(r));
      assert.match(b.id!, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.equal(b.name, `cli-${algorithm}`);
      assert.equal(b.algorithm, algorithm);
      assert.equal(b.state, 'active');
      assert.equal(bytes(b.publicKey!).length, len);
      assert.deepEqual(JSON.parse(b.labels!), { team: 'ops', env: 'a=b' });
      const addresses = JSON.parse(b.addresses!) as Record<string, string>;
      if (algorithm === 'secp256k1') assert.match(addresses.ethereum!, /^0x[0-9a-fA-F]{40}$/);
      else assert.deepEqual(addresses, {});

      const viaApi = await node.api<Key>('GET', `/v1/keys/${b.id}`);
      assert.equal(viaApi.status, 200);
      assert.deepEqual(await kmJson<Key>(['keys', 'get', b.id!]), viaApi.body);
      assert.deepEqual(block(ok(await km(['keys', 'get', b.id!]))), b);
    }
    const j = await kmJson<Key>(['keys', 'create', '--name', 'cli-json', '--algorithm', 'ed25519']);
    assert.equal(j.name, 'cli-json');
    assert.deepEqual(j.labels, {});
  });

  test('import from a file and from stdin (-): the public key is the one the private key implies', async () => {
    const file1 = writeSecret('secp.hex', Buffer.from(PRIV.secp256k1).toString('hex') + '\n');
    imported.secp256k1 = await kmJson<Key>([
      'keys',
      'import',
      '--name',
      'imp-secp',
      '--algorithm',
      'secp256k1',
      '--private-key-file',
      file1,
    ]);
    assert.equal(imported.secp256k1.publicKey, hex(secp256k1.getPublicKey(PRIV.secp256k1, true)));

    imported.p256 = await kmJson<Key>(
      ['keys', 'import', '--name', 'imp-p256', '--algorithm', 'p256', '--private-key-file', '-'],
      {
        input: hex(PRIV.p256) + '\r\n',
      },
    );
    assert.equal(imported.p256.publicKey, hex(p256.getPublicKey(PRIV.p256, true)));

    const file3 = writeSecret('ed.hex', hex(PRIV.ed25519));
    const r = await km([
      'keys',
      'import',
      '--name',
      'imp-ed',
      '--algorithm',
      'ed25519',
      '--private-key-file',
      file3,
    ]);
    const b = block(ok(r));
    assert.equal(b.publicKey, hex(ed25519.getPublicKey(PRIV.ed25519)));
    assert.ok(!r.stdout.includes(Buffer.from(PRIV.ed25519).toString('hex')), 'the private key is not echoed');
    imported.ed25519 = (await node.api<Key>('GET', `/v1/keys/${b.id}`)).body;
  });

  test('list: a table with a header and a row per key, --json, --name, and paging with --limit/--cursor', async () => {
    const all = (await node.api<{ keys: Key[] }>('GET', '/v1/keys?limit=1000')).body.keys;
    assert.ok(all.length >= 7);
    const rows = table(ok(await km(['keys', 'list', '--limit', '1000'])));
    assert.deepEqual(rows[0], ['ID', 'NAME', 'ALGORITHM', 'STATE', 'CREATEDAT']);
    assert.deepEqual(
      rows.slice(1).map((r) => [r[0], r[1], r[2], r[3]]),
      all.map((k) => [k.id, k.name, k.algorithm, k.state]),
    );

    const json = await kmJson<{ keys: Key[] }>(['keys', 'list', '--limit', '1000']);
    assert.deepEqual(json.keys, all);

    const byName = await kmJson<{ keys: Key[] }>(['keys', 'list', '--name', 'imp-p256']);
    assert.deepEqual(
      byName.keys.map((k) => k.id),
      [imported.p256!.id],
    );

    const page1 = ok(await km(['keys', 'list', '--limit', '2']))
      .trimEnd()
      .split('\n');
    assert.equal(page1.length, 4, 'header, two rows, the cursor hint');
    const m = /^more: --cursor (\S+)$/.exec(page1[3]!);
    assert.ok(m, page1[3]);
    const page2 = await kmJson<{ keys: Key[] }>(['keys', 'list', '--limit', '2', '--cursor', m[1]!]);
    assert.deepEqual(
      page2.keys.map((k) => k.id),
      all.slice(2, 4).map((k) => k.id),
    );
  });

  test('sign --digest, --message, --message-text; verify: valid exits 0, tampered exits non-zero', async () => {
    const digest = sha256(utf8('pay 1 ether'));
    const k = imported.secp256k1!;
    const d = block(ok(await km(['keys', 'sign', k.id, '--digest', hex(digest)])));
    const expected = secp256k1.sign(digest, PRIV.secp256k1, { prehash: false, format: 'recovered' });
    assert.equal(d.signature, hex(expected.subarray(1)));
    assert.equal(Number(d.recoveryId), expected[0]);

    const msg = utf8('raw message bytes');
    const m = await kmJson<{ signature: string; recoveryId: number }>([
      'keys',
      'sign',
      k.id,
      '--message',
      hex(msg),
    ]);
    assert.equal(m.signature, hex(secp256k1.sign(sha256(msg), PRIV.secp256k1, { prehash: false })));
    assert.ok(m.recoveryId === 0 || m.recoveryId === 1);

    const t = await kmJson<{ signature: string }>(['keys', 'sign', k.id, '--message-text', 'hello, keymesh']);
    assert.equal(
      t.signature,
      hex(secp256k1.sign(sha256(utf8('hello, keymesh')), PRIV.secp256k1, { prehash: false })),
    );

    const p = await kmJson<{ signature: string; recoveryId?: number }>([
      'keys',
      'sign',
      imported.p256!.id,
      '--digest',
      hex(digest),
    ]);
    assert.equal(p.signature, hex(p256.sign(digest, PRIV.p256, { prehash: false })));
    assert.equal(p.recoveryId, undefined);

    const e = await kmJson<{ signature: string }>([
      'keys',
      'sign',
      imported.ed25519!.id,
      '--message-text',
      'hello, keymesh',
    ]);
    assert.equal(e.signature, hex(ed25519.sign(utf8('hello, keymesh'), PRIV.ed25519)));
    fails(
      await km(['keys', 'sign', imported.ed25519!.id, '--digest', hex(digest)]),
      EXIT.usage,
      /UNSUPPORTED/,
    );

    // verify: readable
    const valid = await km(['keys', 'verify', k.id, '--digest', hex(digest), '--signature', d.signature!]);
    assert.equal(ok(valid), 'valid\n');
    const bad = bytes(d.signature!);
    bad[10]! ^= 0x01;
    const invalid = await km(['keys', 'verify', k.id, '--digest', hex(digest), '--signature', hex(bad)]);
    assert.notEqual(invalid.code, 0);
    assert.equal(invalid.stdout, 'invalid\n');
    const otherText = await km([
      'keys',
      'verify',
      imported.ed25519!.id,
      '--message-text',
      'hello, keymesh!',
      '--signature',
      e.signature,
    ]);
    assert.notEqual(otherText.code, 0);
    assert.equal(
      ok(
        await km([
          'keys',
          'verify',
          imported.ed25519!.id,
          '--message-text',
          'hello, keymesh',
          '--signature',
          e.signature,
        ]),
      ),
      'valid\n',
    );
    // verify: --json answers the same exit code as the readable form, so a script can rely on it
    assert.deepEqual(
      await kmJson(['keys', 'verify', k.id, '--message', hex(msg), '--signature', m.signature]),
      { valid: true },
    );
    const invalidJson = await km([
      'keys',
      'verify',
      k.id,
      '--digest',
      hex(digest),
      '--signature',
      hex(bad),
      '--json',
    ]);
    assert.deepEqual(JSON.parse(invalidJson.stdout), { valid: false });
    assert.notEqual(invalidJson.code, 0, 'an invalid signature is a non-zero exit with --json too');

    // exactly one input
    fails(
      await km(['keys', 'sign', k.id]),
      EXIT.usage,
      /exactly one of --digest, --message or --message-text/,
    );
    fails(
      await km(['keys', 'sign', k.id, '--digest', hex(digest), '--message-text', 'x']),
      EXIT.usage,
      /exactly one/,
    );
    fails(await km(['keys', 'sign', k.id, '--digest', '0x1234']), EXIT.usage, /INVALID_REQUEST: .*32 bytes/);
  });

  test('state and destroy: deactivated and compromised keys refuse to sign (exit 5), destroyed stays destroyed', async () => {
    const k = await kmJson<Key>(['keys', 'create', '--name', 'cli-states', '--algorithm', 'secp256k1']);
    const digest = hex(sha256(utf8('state test')));
    assert.equal(block(ok(await km(['keys', 'state', k.id, 'deactivated']))).state, 'deactivated');
    fails(
      await km(['keys', 'sign', k.id, '--digest', digest]),
      EXIT.conflict,
      /INVALID_STATE: A deactivated key cannot sign/,
    );
    assert.equal((await kmJson<Key>(['keys', 'state', k.id, 'active'])).state, 'active');
    ok(await km(['keys', 'sign', k.id, '--digest', digest]));
    assert.equal((await kmJson<Key>(['keys', 'state', k.id, 'compromised'])).state, 'compromised');
    fails(await km(['keys', 'state', k.id, 'active']), EXIT.conflict, /INVALID_STATE/);
    fails(
      await km(['keys', 'state', k.id, 'bogus']),
      EXIT.usage,
      /STATE must be one of: active, deactivated, compromised$/m,
    );
    fails(await km(['keys', 'state', k.id]), EXIT.usage, /usage: keymesh keys state/);
    const d = block(ok(await km(['keys', 'destroy', k.id])));
    assert.equal(d.state, 'destroyed');
    assert.equal(d.publicKey, k.publicKey);
    fails(await km(['keys', 'destroy', k.id]), EXIT.conflict, /INVALID_STATE/);
    assert.equal((await kmJson<Key>(['keys', 'get', k.id])).state, 'destroyed');
    fails(await km(['keys', 'sign', k.id, '--digest', digest]), EXIT.conflict, /INVALID_STATE/);
  });
});

describe('tokens', () => {
  test('a scoped token works from --token, KEYMESH_TOKEN, --token-file and KEYMESH_TOKEN_FILE; the admin token from the data dir', async () => {
    const a = await kmJson<Key>(['keys', 'create', '--name', 'tok-a', '--algorithm', 'secp256k1']);
    const b = await kmJson<Key>(['keys', 'create', '--name', 'tok-b', '--algorithm', 'secp256k1']);
    const made = await kmJson<{ id: string; token: string }>([
      'tokens',
      'create',
      '--name',
      'signer-a',
      '--scope',
      'keys:sign',
      '--scope',
      'keys:read',
      '--key-id',
      a.id,
    ]);
    assert.match(made.token, /^kmt_/);
    const digest = hex(sha256(utf8('scoped')));
    const signA = ['keys', 'sign', a.id, '--digest', digest];
    const signB = ['keys', 'sign', b.id, '--digest', digest];

    // --token (no data dir given: nothing else to fall back on)
    ok(await km([...signA, '--token', made.token], { dataDir: false }));
    fails(
      await km([...signB, '--token', made.token], { dataDir: false }),
      EXIT.auth,
      /FORBIDDEN: .*not allowed to use this key/,
    );
    // --token wins over the data dir's admin token: this token cannot create keys
    fails(
      await km(['keys', 'create', '--name', 'tok-c', '--algorithm', 'p256', '--token', made.token]),
      EXIT.auth,
      /FORBIDDEN: .*keys:create/,
    );

    // KEYMESH_TOKEN
    const env = { KEYMESH_TOKEN: made.token };
    ok(await km(signA, { dataDir: false, env }));
    fails(await km(signB, { dataDir: false, env }), EXIT.auth, /FORBIDDEN/);
    fails(await km(['tokens', 'list'], { env }), EXIT.auth, /FORBIDDEN: .*admin/);

    // --token-file and KEYMESH_TOKEN_FILE
    const file = writeSecret('signer.token', made.token + '\n');
    ok(await km([...signA, '--token-file', file], { dataDir: false }));
    fails(await km([...signB, '--token-file', file], { dataDir: false }), EXIT.auth, /FORBIDDEN/);
    ok(await km(signA, { dataDir: false, env: { KEYMESH_TOKEN_FILE: file } }));

    // the admin token from --data-dir, and from KEYMESH_DATA_DIR
    ok(await km(signB));
    ok(await km(['tokens', 'list'], { dataDir: false, env: { KEYMESH_DATA_DIR: node.dataDir } }));

    // no token anywhere: a data dir without admin.token, and an empty working directory
    const empty = tempDir('keymesh-cli-empty-');
    fails(await km(['keys', 'list', '--data-dir', empty], { dataDir: false }), EXIT.auth, /UNAUTHENTICATED/);
    fails(await km(['keys', 'list'], { dataDir: false }), EXIT.auth, /UNAUTHENTICATED/);
    fails(
      await km(['keys', 'list', '--token', 'kmt_not-a-token'], { dataDir: false }),
      EXIT.auth,
      /UNAUTHENTICATED/,
    );
    removeDir(empty);
  });

  test('list shows tokens but never a secret; revoke stops a token at once', async () => {
    const r = await km(['tokens', 'create', '--name', 'reader', '--scope', 'keys:read', '--ttl', '3600']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /shown only this once/);
    const made = block(r.stdout);
    assert.match(made.token!, /^kmt_/);
    ok(await km(['keys', 'list', '--token', made.token!], { dataDir: false }));

    const listed = ok(await km(['tokens', 'list']));
    assert.ok(!listed.includes(secretOf(made.token!)), 'no secret in the table');
    const rows = table(listed);
    assert.deepEqual(rows[0], ['ID', 'NAME', 'SCOPES', 'KEYIDS', 'EXPIRESAT']);
    const row = rows.find((x) => x[0] === made.id);
    assert.ok(row, 'the new token is listed');
    assert.equal(row[1], 'reader');
    assert.equal(row[2], '["keys:read"]');
    assert.ok(!Number.isNaN(Date.parse(row[4]!)), 'it expires');

    const json = await kmJson<{ tokens: Record<string, unknown>[] }>(['tokens', 'list']);
    const mine = json.tokens.find((t) => t.id === made.id);
    assert.ok(mine);
    assert.equal(mine.token, undefined);
    assert.ok(!JSON.stringify(json).includes(secretOf(made.token!)));

    assert.equal(ok(await km(['tokens', 'revoke', made.id!])), `revoked ${made.id}\n`);
    fails(
      await km(['keys', 'list', '--token', made.token!], { dataDir: false }),
      EXIT.auth,
      /UNAUTHENTICATED/,
    );
    fails(await km(['tokens', 'revoke', made.id!]), EXIT.notFound, /NOT_FOUND/);
    assert.ok(
      !(await kmJson<{ tokens: { id: string }[] }>(['tokens', 'list'])).tokens.some((t) => t.id === made.id),
    );
  });
});

describe('audit', () => {
  test('audit list (table, --json, --after/--limit) and audit verify --data-dir', async () => {
    const k = await kmJson<Key>(['keys', 'create', '--name', 'audited-by-cli', '--algorithm', 'p256']);
    const all: { seq: number; action: string; keyId?: string; outcome: string; hash: string }[] = [];
    for (;;) {
      const page = await kmJson<{ entries: typeof all }>([
        'audit',
        'list',
        '--after',
        String(all.at(-1)?.seq ?? 0),
        '--limit',
        '1000',
      ]);
      if (page.entries.length === 0) break;
      all.push(...page.entries);
    }
    assert.deepEqual(
      all.map((e) => e.seq),
      all.map((_, i) => i + 1),
    );
    assert.ok(all.some((e) => e.action === 'key.create' && e.keyId === k.id && e.outcome === 'allowed'));
    assert.ok(
      all.some((e) => e.action === 'key.sign' && e.outcome === 'denied'),
      'refusals from the earlier tests are there',
    );

    const two = await kmJson<{ entries: typeof all }>(['audit', 'list', '--after', '3', '--limit', '2']);
    assert.deepEqual(two.entries, all.slice(3, 5));

    const rows = table(ok(await km(['audit', 'list', '--after', '3', '--limit', '2'])));
    assert.deepEqual(rows[0], ['SEQ', 'TIME', 'ACTOR', 'ACTION', 'KEYID', 'OUTCOME']);
    assert.deepEqual(
      rows.slice(1).map((r) => [r[0], r[3], r[5]]),
      all.slice(3, 5).map((e) => [String(e.seq), e.action, e.outcome]),
    );

    const v = await runCli(['audit', 'verify', '--data-dir', node.dataDir], { cwd: work });
    const m = /^audit log intact: (\d+) entries\n$/.exec(ok(v));
    assert.ok(m, v.stdout);
    assert.ok(Number(m[1]) >= all.length);
    const vj = JSON.parse(
      ok(await runCli(['audit', 'verify', '--data-dir', node.dataDir, '--json'], { cwd: work })),
    ) as {
      ok: boolean;
      count: number;
    };
    assert.equal(vj.ok, true);
    assert.ok(vj.count >= all.length);

    const empty = tempDir('keymesh-cli-noaudit-');
    fails(
      await runCli(['audit', 'verify', '--data-dir', empty], { cwd: work }),
      EXIT.notFound,
      /no audit log at/,
    );
    removeDir(empty);
  });
});

describe('errors: documented exit codes, one line on stderr', () => {
  test('usage mistakes exit 2', async () => {
    const none = await runCli([], { cwd: work });
    assert.equal(none.code, EXIT.usage);
    assert.match(none.stderr, /usage: keymesh <command>/);
    const help = await runCli(['--help'], { cwd: work });
    assert.equal(help.code, 0);
    assert.match(help.stdout, /keys +create\|import\|list\|get\|derive\|sign\|verify\|state\|destroy/);

    fails(await km(['keys', 'frobnicate']), EXIT.usage, /usage: keymesh keys/);
    fails(await km(['tokens']), EXIT.usage, /usage: keymesh tokens/);
    fails(await km(['audit', 'nope']), EXIT.usage, /usage: keymesh audit/);
    fails(await km(['keys', 'get']), EXIT.usage, /usage: keymesh keys get ID/);
    fails(
      await km(['keys', 'import', '--name', 'x', '--algorithm', 'secp256k1']),
      EXIT.usage,
      /give --private-key-file FILE or --mnemonic-file FILE/,
    );
    fails(
      await km(['keys', 'create', '--name', 'x', '--algorithm', 'rsa']),
      EXIT.usage,
      /--algorithm must be one of: secp256k1, ed25519, p256$/m,
    );
    fails(
      await km(['keys', 'create', '--name', 'x', '--algorithm', 'p256', '--label', 'novalue']),
      EXIT.usage,
      /--label must be KEY=VALUE/,
    );
    // parseArgs' own message plus the usage: the first line names the problem
    const unknown = await km(['keys', 'create', '--bogus']);
    assert.equal(unknown.code, EXIT.usage);
    assert.equal(unknown.stdout, '');
    assert.match(unknown.stderr.split('\n')[0]!, /^keymesh: .*--bogus/);
  });

  test('auth 3, not found 4, conflict 5, unreachable 6; a refused private key is not echoed', async () => {
    fails(await km(['keys', 'get', newId()]), EXIT.notFound, /NOT_FOUND: key not found/);
    fails(await km(['keys', 'get', 'not-an-id']), EXIT.notFound, /NOT_FOUND/);
    fails(await km(['keys', 'sign', newId(), '--message-text', 'x']), EXIT.notFound, /NOT_FOUND/);
    fails(await km(['tokens', 'revoke', newId()]), EXIT.notFound, /NOT_FOUND/);

    fails(
      await km(['keys', 'create', '--name', 'cli-p256', '--algorithm', 'p256']),
      EXIT.conflict,
      /CONFLICT: .*already exists/,
    );
    fails(
      await km(['keys', 'list', '--token', 'kmt_bogus'], { dataDir: false }),
      EXIT.auth,
      /UNAUTHENTICATED: A valid bearer token is required/,
    );

    const port = await freePort();
    const gone = await runCli(
      ['keys', 'list', '--url', `http://127.0.0.1:${port}`, '--data-dir', node.dataDir],
      { cwd: work },
    );
    fails(gone, EXIT.unavailable, new RegExp(`cannot reach a node at http://127\\.0\\.0\\.1:${port}`));
    fails(
      await runCli(['keys', 'list', '--url', 'ftp://127.0.0.1', '--data-dir', node.dataDir], { cwd: work }),
      EXIT.usage,
      /--url must be an http:\/\/ or https:\/\/ URL/,
    );
    const goneEnv = await runCli(['keys', 'list', '--data-dir', node.dataDir], {
      cwd: work,
      env: { KEYMESH_HTTP: `127.0.0.1:${port}` },
    });
    fails(goneEnv, EXIT.unavailable, /cannot reach a node/);

    // the secp256k1 group order is not a private key: 400 (exit 2), and the message does not quote it
    const order = 'fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141';
    const file = writeSecret('order.hex', order);
    const r = await km([
      'keys',
      'import',
      '--name',
      'bad-key',
      '--algorithm',
      'secp256k1',
      '--private-key-file',
      file,
    ]);
    fails(r, EXIT.usage, /INVALID_KEY/);
    assert.ok(!r.stderr.toLowerCase().includes(order));
    fails(
      await km([
        'keys',
        'import',
        '--name',
        'bad-key',
        '--algorithm',
        'secp256k1',
        '--private-key-file',
        join(work, 'missing'),
      ]),
      EXIT.error,
      /missing/,
    );
    fails(
      await km(['keys', 'list', '--token-file', join(work, 'missing.token')], { dataDir: false }),
      EXIT.error,
      /missing\.token/,
    );
  });
});

describe('help and version: generated from the tables the parser reads', () => {
  test('--version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V'])
      assert.equal(ok(await runCli([flag], { cwd: work })), `keymesh ${pkg.version}\n`);
  });

  test('every command and subcommand answers --help with its flags, and the parser takes every flag listed', async () => {
    const top = ok(await runCli(['--help'], { cwd: work }));
    const groups = [...top.matchAll(/^ {2}([a-z]+) +([a-z|-]+)$/gm)].map(
      (m) => [m[1]!, m[2]!.split('|')] as const,
    );
    assert.deepEqual(
      groups.map(([g]) => g),
      ['keys', 'ethereum', 'bitcoin', 'tokens', 'audit', 'cluster'],
    );
    for (const [group, subs] of groups) {
      const gh = ok(await runCli([group, '--help'], { cwd: work }));
      assert.match(gh, new RegExp(`^usage: keymesh ${group} <command>`));
      for (const sub of subs) {
        assert.match(gh, new RegExp(`^ {2}${sub} +\\S`, 'm'), `${group} --help lists ${sub}`);
        const h = ok(await runCli([group, sub, '--help'], { cwd: work }));
        assert.match(h, new RegExp(`^usage: keymesh ${group} ${sub}\\b`), `${group} ${sub} --help`);
        assert.match(h, /^Flags:$/m);
        // Every flag the help lists, given at once: the parser takes them all (exit 0, the help).
        const flags = [...h.matchAll(/^ {2}(?:-h, )?--([a-z-]+)( \S+)?/gm)];
        assert.ok(flags.length >= 2, `${group} ${sub} lists its flags`);
        const argv = flags.flatMap((m) => (m[2] ? [`--${m[1]}`, 'x'] : [`--${m[1]}`]));
        assert.equal(
          ok(await runCli([group, sub, ...argv], { cwd: work })),
          h,
          `${group} ${sub}: ${argv.join(' ')}`,
        );
      }
    }
    const create = ok(await runCli(['keys', 'create', '--help'], { cwd: work }));
    for (const want of [
      /--name NAME/,
      /--algorithm ALG .*one of: secp256k1, ed25519, p256/,
      /--hd/,
      /--label KEY=VALUE/,
      /--token-file FILE/,
    ])
      assert.match(create, want);
    assert.match(
      ok(await runCli(['tokens', 'create', '--help'], { cwd: work })),
      /--scope SCOPE .*one of: admin, keys:read, keys:create, keys:sign, keys:manage, audit:read/,
    );
    const start = await runCli(['start', '--help'], { cwd: work, timeoutMs: 20_000 });
    assert.equal(start.code, 0, 'start --help does not start a node');
    for (const want of [
      /^usage: keymesh start/,
      /--dev/,
      /--data-dir DIR/,
      /--http HOST:PORT/,
      /--unseal-passphrase-file FILE/,
      /--cluster-dir DIR/,
      /--chain-id N/,
      /--shutdown-timeout SECONDS/,
    ])
      assert.match(start.stdout, new RegExp(want.source, 'm'));
    // Every flag the parser takes is described: none is listed with only a bare value name.
    const undescribed = start.stdout
      .split('\n')
      .filter((l) => /^ {2}--/.test(l) && !/^ {2}\S+(?: \S+)? {2,}\S/.test(l));
    assert.deepEqual(undescribed, []);
  });
});

describe('flag values are checked before anything is sent', () => {
  test('a value outside the allowed ones names the flag and lists the allowed values', async () => {
    type Entries = { entries: { seq: number; action: string }[] };
    const last = async () => {
      let seq = 0;
      for (;;) {
        const page = (await node.api<Entries>('GET', `/v1/audit?after=${seq}&limit=1000`)).body.entries;
        if (page.length === 0) return seq;
        seq = page.at(-1)!.seq;
      }
    };
    const before = await last();
    fails(
      await km(['tokens', 'create', '--name', 't', '--scope', 'keys:sign', '--scope', 'keys:write']),
      EXIT.usage,
      /^keymesh: --scope must be one of: admin, keys:read, keys:create, keys:sign, keys:manage, audit:read\n$/,
    );
    fails(
      await km(['keys', 'list', '--state', 'on']),
      EXIT.usage,
      /--state must be one of: active, deactivated, compromised, destroyed/,
    );
    fails(
      await km(['bitcoin', 'psbt', newId(), '--psbt', 'cHNidP8=', '--network', 'mainnet']),
      EXIT.usage,
      /--network must be one of: bitcoin, testnet, regtest/,
    );
    fails(await km(['audit', 'list', '--limit', 'ten']), EXIT.usage, /--limit must be a whole number/);
    fails(
      await km(['tokens', 'create', '--name', 't', '--scope', 'admin', '--ttl', '1h']),
      EXIT.usage,
      /--ttl must be a whole number/,
    );
    fails(await km(['keys', 'create', '--algorithm', 'p256']), EXIT.usage, /keys create needs --name/);
    fails(await km(['tokens', 'create', '--name', 't']), EXIT.usage, /tokens create needs --scope/);
    fails(
      await runCli(
        ['cluster', 'add-node', '--dir', work, '--node-id', 'n', '--region', 'eu', '--level', '11'],
        {
          cwd: work,
        },
      ),
      EXIT.usage,
      /--level must be one of: 0, 1, 2/,
    );
    const since = (await node.api<Entries>('GET', `/v1/audit?after=${before}&limit=1000`)).body.entries;
    assert.deepEqual(
      since.filter((e) => !e.action.startsWith('audit')),
      [],
      'none of them reached the node',
    );
  });
});

describe('which token: never a silent fall-back to the admin token', () => {
  test('an empty KEYMESH_TOKEN, --token "" or token file is an error, even beside an admin token', async () => {
    const k = await kmJson<Key>(['keys', 'create', '--name', 'not-destroyed', '--algorithm', 'ed25519']);
    fails(
      await km(['keys', 'destroy', k.id], { env: { KEYMESH_TOKEN: '' } }),
      EXIT.usage,
      /KEYMESH_TOKEN is set but empty/,
    );
    fails(await km(['keys', 'destroy', k.id, '--token', '']), EXIT.usage, /--token is empty/);
    fails(await km(['keys', 'destroy', k.id, '--token', '  ']), EXIT.usage, /--token is empty/);
    const empty = writeSecret('empty.token', '\n');
    fails(
      await km(['keys', 'destroy', k.id, '--token-file', empty]),
      EXIT.usage,
      new RegExp(`token file ${empty} \\(--token-file\\) is empty`),
    );
    fails(
      await km(['keys', 'destroy', k.id], { env: { KEYMESH_TOKEN_FILE: '' } }),
      EXIT.usage,
      /KEYMESH_TOKEN_FILE names no file/,
    );
    assert.equal(
      (await node.api<Key>('GET', `/v1/keys/${k.id}`)).body.state,
      'active',
      'nothing was destroyed',
    );
  });

  test('a missing token file is named, with where it came from; no token at all names the admin token file', async () => {
    const missing = join(work, 'nowhere', 'signer.token');
    fails(
      await km(['keys', 'list', '--token-file', missing]),
      EXIT.error,
      new RegExp(`^keymesh: cannot read the token file ${missing} \\(--token-file\\): ENOENT\\n$`),
    );
    fails(
      await km(['keys', 'list'], { env: { KEYMESH_TOKEN_FILE: missing } }),
      EXIT.error,
      new RegExp(`token file ${missing} \\(KEYMESH_TOKEN_FILE\\)`),
    );
    const dir = tempDir('keymesh-cli-notoken-');
    fails(
      await km(['keys', 'list', '--data-dir', dir], { dataDir: false }),
      EXIT.auth,
      new RegExp(`UNAUTHENTICATED: no token: .*there is no ${join(dir, 'admin.token')}`),
    );
    removeDir(dir);
  });
});

describe('HD keys, Ethereum and PSBT signing from the CLI', () => {
  // The BIP39 test mnemonic (public; its BIP44 Ethereum account 0 is well known).
  const MNEMONIC =
    'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';
  const ETH0 = "m/44'/60'/0'/0/0";

  test('create --hd, import --mnemonic-file (file and stdin, with a passphrase file), derive, sign at a path', async () => {
    const hd = await kmJson<Key & { hd: boolean; fingerprint: string; xpub: string }>([
      'keys',
      'create',
      '--name',
      'cli-hd',
      '--algorithm',
      'secp256k1',
      '--hd',
    ]);
    assert.equal(hd.hd, true);
    assert.match(hd.fingerprint, /^0x[0-9a-f]{8}$/);
    assert.match(hd.xpub, /^xpub/);

    const file = writeSecret('mnemonic.txt', MNEMONIC + '\n');
    const fromFile = await kmJson<Key & { fingerprint: string }>([
      'keys',
      'import',
      '--name',
      'cli-hd-file',
      '--algorithm',
      'secp256k1',
      '--mnemonic-file',
      file,
    ]);
    assert.equal(fromFile.fingerprint, '0x73c5da0a', 'the BIP32 master fingerprint of the test mnemonic');
    const r = await km(
      ['keys', 'import', '--name', 'cli-hd-stdin', '--algorithm', 'secp256k1', '--mnemonic-file', '-'],
      {
        input: `  ${MNEMONIC.replaceAll(' ', '\n')}\n`,
      },
    );
    assert.equal(block(ok(r)).fingerprint, '0x73c5da0a');
    assert.ok(!r.stdout.includes('abandon'), 'the mnemonic is not echoed');
    const pass = writeSecret('bip39.pass', 'TREZOR\n');
    const withPass = await kmJson<Key & { fingerprint: string }>([
      'keys',
      'import',
      '--name',
      'cli-hd-pass',
      '--algorithm',
      'secp256k1',
      '--mnemonic-file',
      file,
      '--passphrase-file',
      pass,
    ]);
    assert.notEqual(withPass.fingerprint, '0x73c5da0a', 'the passphrase is part of the seed');
    // Never from a flag value.
    const flag = await km([
      'keys',
      'import',
      '--name',
      'x',
      '--algorithm',
      'secp256k1',
      '--mnemonic',
      MNEMONIC,
    ]);
    assert.equal(flag.code, EXIT.usage);
    assert.match(flag.stderr, /--mnemonic/);
    fails(
      await km([
        'keys',
        'import',
        '--name',
        'x',
        '--algorithm',
        'secp256k1',
        '--mnemonic-file',
        file,
        '--private-key-file',
        file,
      ]),
      EXIT.usage,
      /not both/,
    );

    const child = await kmJson<{ path: string; publicKey: string; addresses: { ethereum: string } }>([
      'keys',
      'derive',
      fromFile.id,
      '--path',
      ETH0,
    ]);
    assert.equal(child.addresses.ethereum, '0x9858EfFD232B4033E47d90003D41EC34EcaEda94');
    const digest = hex(sha256(utf8('hd via cli')));
    const sig = await kmJson<{ signature: string }>([
      'keys',
      'sign',
      fromFile.id,
      '--digest',
      digest,
      '--path',
      ETH0,
    ]);
    assert.ok(
      secp256k1.verify(bytes(sig.signature), bytes(digest), bytes(child.publicKey), { prehash: false }),
    );
    ok(
      await km([
        'keys',
        'verify',
        fromFile.id,
        '--digest',
        digest,
        '--signature',
        sig.signature,
        '--path',
        ETH0,
      ]),
    );
    fails(await km(['keys', 'sign', fromFile.id, '--digest', digest]), EXIT.usage, /INVALID_REQUEST/);
    const msg = await kmJson<{ signature: string }>([
      'ethereum',
      'message',
      fromFile.id,
      '--path',
      ETH0,
      '--message-text',
      'gm',
    ]);
    assert.equal(verifyMessage('gm', msg.signature), child.addresses.ethereum);
  });

  test('ethereum transaction (flags, --tx-file, stdin), message and typed-data; judged by ethers', async () => {
    const cow = keccak256(toUtf8Bytes('cow'));
    const keyFile = writeSecret('cow.hex', cow);
    const k = await kmJson<Key>([
      'keys',
      'import',
      '--name',
      'cli-cow',
      '--algorithm',
      'secp256k1',
      '--private-key-file',
      keyFile,
    ]);
    const address = k.addresses.ethereum!;
    const fields = [
      '--chain-id',
      '1',
      '--nonce',
      '7',
      '--gas',
      '21000',
      '--max-fee-per-gas',
      '30000000000',
      '--max-priority-fee-per-gas',
      '1000000000',
      '--to',
      '0x8ba1f109551bD432803012645Ac136ddd64DBA72',
      '--value',
      '1000000000000000000',
    ];
    const signed = await kmJson<{ rawTransaction: string; hash: string; from: string }>([
      'ethereum',
      'transaction',
      k.id,
      ...fields,
    ]);
    const tx = Transaction.from(signed.rawTransaction);
    assert.equal(tx.from, address);
    assert.equal(signed.from, address);
    assert.equal(tx.hash, signed.hash);
    assert.equal(tx.type, 2);
    assert.equal(tx.chainId, 1n);
    assert.equal(tx.nonce, 7);
    assert.equal(tx.gasLimit, 21000n);
    assert.equal(tx.value, 10n ** 18n);
    assert.equal(tx.to, '0x8ba1f109551bD432803012645Ac136ddd64DBA72');
    // The same transaction from a JSON file and from stdin; a flag overrides the file.
    const json = JSON.stringify({
      chainId: 1,
      nonce: 7,
      gas: 21000,
      maxFeePerGas: '30000000000',
      maxPriorityFeePerGas: '1000000000',
      to: '0x8ba1f109551bD432803012645Ac136ddd64DBA72',
      value: '1000000000000000000',
    });
    const txFile = writeSecret('tx.json', json);
    assert.equal(
      (await kmJson<{ rawTransaction: string }>(['ethereum', 'transaction', k.id, '--tx-file', txFile]))
        .rawTransaction,
      signed.rawTransaction,
    );
    assert.equal(
      (
        await kmJson<{ rawTransaction: string }>(['ethereum', 'transaction', k.id, '--tx-file', '-'], {
          input: json,
        })
      ).rawTransaction,
      signed.rawTransaction,
    );
    const other = await kmJson<{ rawTransaction: string }>([
      'ethereum',
      'transaction',
      k.id,
      '--tx-file',
      txFile,
      '--nonce',
      '8',
    ]);
    assert.equal(Transaction.from(other.rawTransaction).nonce, 8);
    fails(
      await km(['ethereum', 'transaction', k.id, ...fields.slice(2)]),
      EXIT.usage,
      /INVALID_REQUEST: .*chainId/,
    );
    fails(
      await km(['ethereum', 'transaction', k.id, '--tx-file', keyFile]),
      EXIT.usage,
      /--tx-file does not hold JSON/,
    );

    const m = block(ok(await km(['ethereum', 'message', k.id, '--message-text', '0x1234 is text here'])));
    assert.equal(
      verifyMessage('0x1234 is text here', m.signature!),
      address,
      'text that looks like hex is signed as text',
    );
    const mb = await kmJson<{ signature: string }>(['ethereum', 'message', k.id, '--message', '0x1234']);
    assert.equal(verifyMessage(new Uint8Array([0x12, 0x34]), mb.signature), address);
    fails(await km(['ethereum', 'message', k.id]), EXIT.usage, /exactly one of --message-text or --message/);

    const td = writeSecret('mail.json', JSON.stringify(MAIL));
    const t = await kmJson<{ signature: string }>(['ethereum', 'typed-data', k.id, '--file', td]);
    assert.equal(verifyTypedData(MAIL.domain, MAIL_TYPES, MAIL.message, t.signature), address);
    assert.equal(MAIL.message.from.wallet, address, 'the Mail example is signed by cow');
    const t2 = await kmJson<{ signature: string }>(['ethereum', 'typed-data', k.id, '--file', '-'], {
      input: JSON.stringify(MAIL),
    });
    assert.equal(t2.signature, t.signature);
  });

  test('bitcoin psbt (inline, file, stdin): every input paying to the key is signed and finalizes', async () => {
    const k = await kmJson<Key>(['keys', 'create', '--name', 'cli-btc', '--algorithm', 'secp256k1']);
    const me = p2wpkh(bytes(k.publicKey));
    const tx = new BtcTransaction();
    tx.addInput({
      txid: new Uint8Array(32).fill(0x11),
      index: 0,
      witnessUtxo: { script: me.script, amount: 100000n },
    });
    tx.addInput({
      txid: new Uint8Array(32).fill(0x22),
      index: 1,
      witnessUtxo: { script: me.script, amount: 50000n },
    });
    tx.addOutputAddress(me.address!, 149000n);
    const psbt = Buffer.from(tx.toPSBT()).toString('base64');
    const inline = await kmJson<{ psbt: string; signedInputs: number[] }>([
      'bitcoin',
      'psbt',
      k.id,
      '--network',
      'bitcoin',
      '--psbt',
      psbt,
    ]);
    assert.deepEqual(inline.signedInputs, [0, 1]);
    const done = BtcTransaction.fromPSBT(Buffer.from(inline.psbt, 'base64'));
    done.finalize();
    assert.ok(done.hex.length > 0);
    const file = writeSecret('tx.psbt', psbt + '\n');
    assert.equal(
      (await kmJson<{ psbt: string }>(['bitcoin', 'psbt', k.id, '--network', 'bitcoin', '--psbt-file', file]))
        .psbt,
      inline.psbt,
    );
    assert.equal(
      (
        await kmJson<{ psbt: string }>(
          ['bitcoin', 'psbt', k.id, '--network', 'bitcoin', '--psbt-file', '-'],
          { input: psbt },
        )
      ).psbt,
      inline.psbt,
    );
    const readable = block(ok(await km(['bitcoin', 'psbt', k.id, '--network', 'bitcoin', '--psbt', psbt])));
    assert.equal(readable.psbt, inline.psbt);
    fails(
      await km(['bitcoin', 'psbt', k.id, '--network', 'bitcoin']),
      EXIT.usage,
      /exactly one of --psbt or --psbt-file/,
    );
  });
});
