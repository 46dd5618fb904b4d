// End to end: a node's life from the outside. The ready line and stdout exactly as the contract
// says; owner-only files; health, the OpenAPI document, the docs page and Prometheus metrics;
// SIGTERM with requests provably in flight (every one finishes 200, exit 0) and SIGINT; the
// refusals to start unsealed or exposed; and a sealed (non --dev) node that unseals with its
// passphrase file and refuses a wrong one.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { heldRequest } from './http-raw.js';
import { ERROR_TABLE } from '../../src/error-table.js';
import { OPERATIONS, type OperationName } from '../../src/core/operations/table.js';
import { join, relative } from 'node:path';
import Database from 'better-sqlite3';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import {
  api,
  CLI,
  REPO_ROOT,
  removeDir,
  runCli,
  startNode,
  tempDir,
  waitFor,
  type TestNode,
} from '../helpers/node.js';

const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string })
  .version;
const hex = (b: Uint8Array) => '0x' + Buffer.from(b).toString('hex');
const bytes = (h: string) => new Uint8Array(Buffer.from(h.slice(2), 'hex'));
const DIGEST = new Uint8Array(createHash('sha256').update('lifecycle').digest());

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) out.push(p, ...walk(p));
    else out.push(p);
  }
  return out;
}

const mode = (p: string) => statSync(p).mode & 0o777;

/** A single-line failure from `keymesh start`, within a bounded time (a node that starts instead fails the test). */
async function refusesToStart(args: string[], pattern: RegExp, code?: number): Promise<void> {
  const r = await runCli(['start', ...args], { timeoutMs: 30_000 });
  assert.equal(r.timedOut, false, `the node started instead of refusing:\n${r.stdout}`);
  if (code === undefined) assert.ok(r.code !== 0 && r.code !== null, `exit ${r.code}`);
  else assert.equal(r.code, code);
  assert.ok(!/keymesh ready/.test(r.stdout), 'no ready line');
  assert.match(r.stderr, /^keymesh: [^\n]+\n$/, `one clear line, got ${JSON.stringify(r.stderr)}`);
  assert.match(r.stderr, pattern);
}

describe('a development node', () => {
  test('stdout: the admin token path, then exactly the ready line; owner-only files; health without a token', async () => {
    const parent = tempDir('keymesh-life-');
    const dataDir = join(parent, 'data'); // the node creates it
    const node = await startNode({ dataDir, args: ['--node-id', 'life-1'] });
    try {
      const lines = node.stdout().split('\n');
      assert.deepEqual(lines.slice(0, 2), [
        `keymesh admin token written to ${join(dataDir, 'admin.token')}`,
        lines[1],
      ]);
      const m = /^keymesh ready http=127\.0\.0\.1:(\d+) kmip=off node=life-1$/.exec(lines[1]!);
      assert.ok(m, `ready line: ${JSON.stringify(lines[1])}`);
      assert.notEqual(Number(m[1]), 0, 'the picked port, not 0');
      assert.equal(node.url, `http://127.0.0.1:${m[1]}`);
      assert.equal(lines.length, 3, 'nothing else on stdout');
      assert.equal(lines[2], '');
      assert.ok(!node.stdout().includes(node.adminToken), 'stdout never shows the token');
      assert.ok(!node.stderr().includes(node.adminToken), 'stderr never shows the token');
      // A clean start says nothing on stderr: no library warnings, deprecations or schema noise.
      assert.doesNotMatch(node.stderr(), /strict mode|Deprecation|Warning|warn/i);
      assert.match(node.adminToken, /^kmt_/);

      // The ready line means ready: health answers at once, without a token.
      const h = await api<Record<string, unknown>>(node.url, 'GET', '/v1/health', undefined, null);
      assert.equal(h.status, 200);
      assert.deepEqual(h.body, { status: 'ok', nodeId: 'life-1', version: VERSION });
      assert.match(h.headers.get('content-type') ?? '', /^application\/json/);

      assert.equal(mode(dataDir), 0o700, 'the data dir is owner-only');
      assert.equal(mode(join(dataDir, 'admin.token')), 0o600);
      const files = walk(dataDir).filter((p) => statSync(p).isFile());
      assert.ok(files.length >= 4, files.join(', '));
      for (const f of files)
        assert.equal(mode(f), 0o600, `${relative(dataDir, f)} is mode ${mode(f).toString(8)}`);
      for (const d of walk(dataDir).filter((p) => statSync(p).isDirectory()))
        assert.equal(mode(d), 0o700, `${relative(dataDir, d)}/ is owner-only`);
      // The dev sealing key: a 256-bit random key file, not the admin token, node id or a database.
      const known = /^(admin\.token|node\.json|(keymesh|audit)\.db(-wal|-shm|-journal)?)$/;
      const others = files.filter((f) => !known.test(relative(dataDir, f)));
      assert.ok(others.length >= 1, 'a dev sealing key file is in the data dir');

      assert.equal(await node.stop('SIGTERM'), 0);
      for (const f of walk(dataDir).filter((p) => statSync(p).isFile()))
        assert.equal(mode(f), 0o600, `after stop: ${relative(dataDir, f)} is mode ${mode(f).toString(8)}`);

      // A restart prints only the ready line.
      const again = await startNode({ dataDir, args: ['--node-id', 'life-1'] });
      assert.match(again.stdout(), /^keymesh ready http=127\.0\.0\.1:\d+ kmip=off node=life-1\n$/);
      assert.equal(await again.stop('SIGINT'), 0);
    } finally {
      await node.kill9();
      removeDir(parent);
    }
  });

  test('/openapi.json is an OpenAPI 3 document of the /v1 API; /docs is HTML; /metrics counts requests, signatures and audit commits', async () => {
    const node = await startNode();
    try {
      const o = await api<OpenApi>(node.url, 'GET', '/openapi.json', undefined, null);
      assert.equal(o.status, 200);
      const doc = o.body;
      assert.match(doc.openapi, /^3\.\d+\.\d+$/);
      assert.equal(doc.info.version, VERSION);
      assert.equal(typeof doc.info.title, 'string');
      const expected: Record<string, string[]> = {
        '/v1/keys': ['get', 'post'],
        '/v1/keys/import': ['post'],
        '/v1/keys/{id}': ['delete', 'get'],
        '/v1/keys/{id}/sign': ['post'],
        '/v1/keys/{id}/verify': ['post'],
        '/v1/keys/{id}/state': ['post'],
        '/v1/tokens': ['get', 'post'],
        '/v1/tokens/{id}': ['delete'],
        '/v1/audit': ['get'],
        '/v1/health': ['get'],
      };
      for (const [path, methods] of Object.entries(expected)) {
        const item = doc.paths[path];
        assert.ok(item, `${path} is documented`);
        for (const method of methods) {
          const op = item[method];
          assert.ok(op, `${method.toUpperCase()} ${path} is documented`);
          assert.ok(Object.keys(op.responses ?? {}).length > 0, `${method} ${path} has responses`);
          if (path.includes('{id}'))
            assert.ok(
              op.parameters?.some((p) => p.in === 'path' && p.name === 'id' && p.required === true),
              `${method} ${path} declares its id`,
            );
        }
      }
      // Each route declares every status its operation can answer, from the operations table.
      const ROUTE_OPERATION: [string, string, OperationName][] = [
        ['/v1/keys', 'post', 'key.create'],
        ['/v1/keys', 'get', 'key.list'],
        ['/v1/keys/{id}/sign', 'post', 'key.sign'],
        ['/v1/keys/{id}/verify', 'post', 'key.verify'],
        ['/v1/keys/{id}/ethereum/transaction', 'post', 'ethereum.transaction'],
        ['/v1/keys/{id}/bitcoin/psbt', 'post', 'bitcoin.psbt'],
        ['/v1/tokens', 'post', 'token.create'],
        ['/v1/audit', 'get', 'audit.list'],
        ['/v1/cluster', 'get', 'cluster.describe'],
      ];
      for (const [path, method, opName] of ROUTE_OPERATION) {
        const declared = Object.keys(doc.paths[path]?.[method]?.responses ?? {});
        for (const code of OPERATIONS[opName].errors)
          assert.ok(
            declared.includes(String(ERROR_TABLE[code].http)),
            `${method.toUpperCase()} ${path} declares ${ERROR_TABLE[code].http} (${code})`,
          );
      }
      const sign = doc.paths['/v1/keys/{id}/sign']!.post!;
      const body = resolve(doc, sign.requestBody?.content?.['application/json']?.schema) as {
        properties?: object;
      };
      // `path`: HD roots sign with the child at a path (test/e2e/hd.test.ts).
      assert.deepEqual(Object.keys(body.properties ?? {}).sort(), ['digest', 'message', 'path']);
      const created = resolve(
        doc,
        doc.paths['/v1/keys']!.post!.responses!['201']?.content?.['application/json']?.schema,
      ) as {
        required?: string[];
      };
      for (const f of ['id', 'name', 'algorithm', 'publicKey', 'state', 'createdAt', 'labels'])
        assert.ok(created.required?.includes(f), `the key object requires ${f}`);
      // Every $ref points at something in the document.
      const refs = collectRefs(doc);
      assert.ok(refs.length > 0);
      for (const r of refs) assert.notEqual(resolve(doc, { $ref: r }), undefined, `$ref ${r} resolves`);
      assert.ok(!('/metrics' in doc.paths) && !('/openapi.json' in doc.paths), 'system plumbing is hidden');

      const docs = await fetch(`${node.url}/docs`);
      assert.equal(docs.status, 200);
      assert.match(docs.headers.get('content-type') ?? '', /^text\/html/);
      const html = await docs.text();
      assert.match(html, /<html/i);
      assert.match(html, /swagger/i);

      // Some signing, then the counters.
      const counts = { secp256k1: 3, ed25519: 2, p256: 1 };
      const ids: string[] = [];
      for (const [algorithm, n] of Object.entries(counts)) {
        const k = await node.api<{ id: string }>('POST', '/v1/keys', { name: `m-${algorithm}`, algorithm });
        ids.push(k.body.id);
        for (let i = 0; i < n; i++) {
          const body = algorithm === 'ed25519' ? { message: '0x00' } : { digest: hex(DIGEST) };
          assert.equal((await node.api('POST', `/v1/keys/${k.body.id}/sign`, body)).status, 200);
        }
      }
      assert.equal((await node.api('POST', `/v1/keys/${ids[0]}/sign`, { digest: '0x00' })).status, 400);
      const res = await fetch(`${node.url}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      const metric = parseProm(text);
      for (const [algorithm, n] of Object.entries(counts))
        assert.equal(metric('keymesh_signatures_total', { algorithm }), n, `signatures for ${algorithm}`);
      assert.equal(
        metric('keymesh_http_requests_total', { route: '/v1/keys/:id/sign', method: 'POST', status: '200' }),
        6,
      );
      assert.equal(
        metric('keymesh_http_requests_total', { route: '/v1/keys/:id/sign', method: 'POST', status: '400' }),
        1,
      );
      assert.equal(
        metric('keymesh_http_requests_total', { route: '/v1/keys', method: 'POST', status: '201' }),
        3,
      );
      assert.equal(
        metric('keymesh_http_request_duration_seconds_count', { route: '/v1/keys/:id/sign', method: 'POST' }),
        7,
      );
      const commits = metric('keymesh_audit_commit_duration_seconds_count', {});
      assert.ok(commits !== undefined && commits >= 1, 'audit commits are timed');
      assert.ok((metric('keymesh_audit_commit_duration_seconds_sum', {}) ?? 0) > 0);
      // 1 bootstrap + 3 creations + 6 signatures; the refused one is audited too.
      assert.equal(metric('keymesh_audit_entries_total', {}), 1 + 3 + 6 + 1);
      for (const id of ids) assert.ok(!text.includes(id), 'no key id in a metric label');
      assert.equal(await node.stop(), 0);
    } finally {
      await node.kill9();
      removeDir(node.dataDir);
    }
  });
});

describe('stopping', () => {
  test('SIGTERM with 50 sign requests in flight: every one finishes 200 with a valid signature, audited; exit 0', async () => {
    const node = await startNode();
    try {
      const priv = new Uint8Array(32).fill(0x31);
      const k = (
        await node.api<{ id: string }>('POST', '/v1/keys/import', {
          name: 'drain',
          algorithm: 'secp256k1',
          privateKey: hex(priv),
        })
      ).body;
      // Each request's headers reach the node (it answers "100 Continue") before SIGTERM; the
      // bodies follow after the node has begun to stop: the requests are in flight, provably.
      const pending = Array.from({ length: 50 }, (_, i) =>
        heldRequest(node.url, node.adminToken, `/v1/keys/${k.id}/sign`, { digest: hex(digestOf(i)) }),
      );
      await Promise.all(pending.map((p) => p.continued));
      node.proc.kill('SIGTERM');
      await waitFor('the node to begin stopping', () => /SIGTERM received/.test(node.stderr()));
      await waitFor('the node to stop taking new requests', async () => {
        try {
          return (await fetch(`${node.url}/v1/health`)).status !== 200;
        } catch {
          return true; // refused: no longer listening
        }
      });
      for (const p of pending) p.send();
      const answers = await Promise.all(pending.map((p) => p.response));
      answers.forEach((a, i) => {
        assert.ok('status' in a, `request ${i}: ${JSON.stringify(a)}`);
        assert.equal(a.status, 200, `request ${i}: ${a.text}`);
        const sig = (JSON.parse(a.text) as { signature: string }).signature;
        assert.equal(sig, hex(secp256k1.sign(digestOf(i), priv, { prehash: false })), `request ${i}`);
      });
      assert.equal(await node.stop(), 0, 'exit 0 after draining');

      const db = new Database(join(node.dataDir, 'audit.db'), { readonly: true });
      const signed = (db.prepare('SELECT entry FROM audit').all() as { entry: string }[])
        .map((r) => JSON.parse(r.entry) as { action: string; keyId?: string; outcome: string })
        .filter((e) => e.action === 'key.sign' && e.keyId === k.id && e.outcome === 'allowed');
      db.close();
      assert.equal(signed.length, 50, 'every drained signature was audited');
      const v = await runCli(['audit', 'verify', '--data-dir', node.dataDir]);
      assert.equal(v.code, 0, v.stderr);
    } finally {
      await node.kill9();
      removeDir(node.dataDir);
    }
  });

  test('a SIGTERM while the node is starting stops it cleanly once up: exit 0, bootstrap complete', async () => {
    const dir = tempDir();
    // On a first start the admin-token line comes before the listener is up: signal right then.
    const p = spawn(process.execPath, [CLI, 'start', '--dev', '--data-dir', dir, '--http', '127.0.0.1:0'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (/admin token written/.test(out) && p.signalCode === null && !p.killed) p.kill('SIGTERM');
    });
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    try {
      const [code, signal] = (await once(p, 'exit')) as [number | null, string | null];
      assert.equal(signal, null, `killed by ${signal} instead of stopping:\n${out}\n${err}`);
      assert.equal(code, 0, err);
      assert.match(err, /SIGTERM received/);
      const again = await startNode({ dataDir: dir });
      assert.ok(!again.stdout().includes('admin token written'), 'the bootstrap had completed');
      assert.equal((await again.api('GET', '/v1/tokens')).status, 200, 'and its admin token works');
      assert.equal(await again.stop('SIGINT'), 0);
    } finally {
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
      removeDir(dir);
    }
  });

  test('SIGINT: exit 0, and a restart finds everything', async () => {
    const node = await startNode();
    try {
      const k = await node.api<{ id: string }>('POST', '/v1/keys', { name: 'int', algorithm: 'ed25519' });
      assert.equal(k.status, 201);
      assert.equal(await node.stop('SIGINT'), 0);
      assert.match(node.stderr(), /SIGINT received/);
      const again = await startNode({ dataDir: node.dataDir });
      assert.equal((await again.api('GET', `/v1/keys/${k.body.id}`)).status, 200);
      assert.equal(await again.stop('SIGINT'), 0);
    } finally {
      await node.kill9();
      removeDir(node.dataDir);
    }
  });
});

describe('refusing to start', () => {
  test('a data dir belongs to one node id: another --node-id is refused', async () => {
    const dir = tempDir('keymesh-nodeid-');
    const first = await startNode({ dataDir: dir, args: ['--node-id', 'alpha-1'] });
    assert.equal(first.nodeId, 'alpha-1');
    assert.equal(await first.stop(), 0);
    await refusesToStart(
      ['--dev', '--data-dir', dir, '--http', '127.0.0.1:0', '--node-id', 'beta-2'],
      /belongs to node alpha-1/,
    );
    const again = await startNode({ dataDir: dir });
    assert.equal(again.nodeId, 'alpha-1', 'the id was kept, not replaced');
    assert.equal(await again.stop(), 0);
  });

  test('without --dev and without a passphrase (stdin not a terminal): a clear refusal, nothing written', async () => {
    const parent = tempDir('keymesh-refuse-');
    const dir = join(parent, 'data');
    await refusesToStart(
      ['--data-dir', dir, '--http', '127.0.0.1:0'],
      /refusing to start unsealed.*--unseal-passphrase-file/,
      2,
    );
    assert.equal(existsSync(dir), false, 'no data dir was created');
    removeDir(parent);
  });

  test('--dev on a non-loopback address, or a sealed node on one without TLS, is refused', async () => {
    const parent = tempDir('keymesh-refuse-');
    const dir = join(parent, 'data');
    await refusesToStart(
      ['--dev', '--data-dir', dir, '--http', '0.0.0.0:0'],
      /--dev node listens on loopback only/,
      2,
    );
    await refusesToStart(['--dev', '--data-dir', dir, '--http', '[::]:0'], /loopback only/, 2);
    const pass = join(parent, 'pass');
    writeFileSync(pass, 'a long enough passphrase\n', { mode: 0o600 });
    await refusesToStart(
      ['--data-dir', dir, '--http', '0.0.0.0:0', '--unseal-passphrase-file', pass],
      /without TLS/,
      2,
    );
    await refusesToStart(['--dev', '--data-dir', dir, '--http', 'nonsense'], /--http must be HOST:PORT/, 2);
    // An unknown flag: parseArgs' message first, then the usage line.
    const r = await runCli(['start', '--dev', '--data-dir', dir, '--bogus'], { timeoutMs: 30_000 });
    assert.equal(r.code, 2);
    assert.match(r.stderr.split('\n')[0]!, /^keymesh: .*--bogus/);
    assert.equal(existsSync(dir), false, 'no data dir was created');
    removeDir(parent);
  });
  test('a --dev data dir is not started with a passphrase (its keys would not unseal)', async () => {
    const node = await startNode();
    try {
      assert.equal((await node.api('POST', '/v1/keys', { name: 'dev-key', algorithm: 'p256' })).status, 201);
      assert.equal(await node.stop(), 0);
      const pass = join(node.dataDir, '..', `${node.dataDir.split('/').pop()}.pass`);
      writeFileSync(pass, 'a long enough passphrase\n', { mode: 0o600 });
      try {
        await refusesToStart(
          ['--data-dir', node.dataDir, '--http', '127.0.0.1:0', '--unseal-passphrase-file', pass],
          /belongs to a --dev node.*start it with --dev/,
        );
      } finally {
        removeDir(pass);
      }
      assert.equal(existsSync(join(node.dataDir, 'seal.json')), false, 'no second sealing key was made');
    } finally {
      await node.kill9();
      removeDir(node.dataDir);
    }
  });
});

describe('a sealed node (no --dev)', () => {
  test('unseals with --unseal-passphrase-file, keeps its keys across restarts, and refuses a wrong passphrase', async () => {
    const parent = tempDir('keymesh-sealed-');
    const dir = join(parent, 'data');
    const passphrase = 'correct horse battery staple ' + Date.now();
    const good = join(parent, 'good.pass');
    const bad = join(parent, 'bad.pass');
    const empty = join(parent, 'empty.pass');
    writeFileSync(good, passphrase + '\n', { mode: 0o600 });
    writeFileSync(bad, passphrase + 'x\n', { mode: 0o600 });
    writeFileSync(empty, '\n', { mode: 0o600 });
    const start = (file: string) =>
      startNode({ dev: false, dataDir: dir, args: ['--unseal-passphrase-file', file] });
    let node: TestNode | undefined;
    try {
      node = await start(good);
      assert.match(
        node.stdout(),
        /^keymesh admin token written to .*\nkeymesh ready http=127\.0\.0\.1:\d+ kmip=off node=\S+\n$/,
      );
      const priv = new Uint8Array(32).fill(0x55);
      const k = await node.api<{ id: string }>('POST', '/v1/keys/import', {
        name: 'sealed',
        algorithm: 'secp256k1',
        privateKey: hex(priv),
      });
      assert.equal(k.status, 201);
      const expected = hex(secp256k1.sign(DIGEST, priv, { prehash: false }));
      const s1 = await node.api<{ signature: string }>('POST', `/v1/keys/${k.body.id}/sign`, {
        digest: hex(DIGEST),
      });
      assert.equal(s1.body.signature, expected);
      assert.equal(await node.stop(), 0);
      const files = walk(dir).filter((p) => statSync(p).isFile());
      for (const f of files) {
        assert.equal(mode(f), 0o600, relative(dir, f));
        assert.ok(
          !readFileSync(f).includes(Buffer.from(passphrase)),
          `the passphrase is stored in ${relative(dir, f)}`,
        );
      }
      assert.ok(!node.stdout().includes(passphrase) && !node.stderr().includes(passphrase));

      await refusesToStart(
        ['--data-dir', dir, '--http', '127.0.0.1:0', '--unseal-passphrase-file', bad],
        /passphrase/i,
      );
      await refusesToStart(
        ['--data-dir', dir, '--http', '127.0.0.1:0', '--unseal-passphrase-file', empty],
        /passphrase file is empty/,
        2,
      );
      await refusesToStart(['--data-dir', dir, '--http', '127.0.0.1:0'], /refusing to start unsealed/, 2);
      // A sealed data dir never runs as --dev: that would make a second sealing key beside it.
      await refusesToStart(
        ['--dev', '--data-dir', dir, '--http', '127.0.0.1:0'],
        /sealed with an unseal passphrase.*start it without --dev/,
      );
      assert.equal(existsSync(join(dir, 'dev-sealing.key')), false);

      node = await start(good);
      assert.match(node.stdout(), /^keymesh ready /, 'no new admin token');
      const s2 = await node.api<{ signature: string }>('POST', `/v1/keys/${k.body.id}/sign`, {
        digest: hex(DIGEST),
      });
      assert.equal(s2.status, 200);
      assert.equal(s2.body.signature, expected, 'the same key, unsealed again');
      assert.ok(
        secp256k1.verify(bytes(s2.body.signature), DIGEST, secp256k1.getPublicKey(priv), { prehash: false }),
      );
      assert.equal(await node.stop(), 0);
    } finally {
      await node?.kill9();
      removeDir(parent);
    }
  });
});

// --- helpers ---

function digestOf(i: number): Uint8Array {
  return new Uint8Array(createHash('sha256').update(`in flight ${i}`).digest());
}

interface Operation {
  parameters?: { in: string; name: string; required?: boolean }[];
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}
interface OpenApi {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
}

function collectRefs(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) for (const x of v) collectRefs(x, out);
  else if (v && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) {
      if (k === '$ref' && typeof x === 'string') out.push(x);
      else collectRefs(x, out);
    }
  return out;
}

/** Follow a local `#/...` $ref (repeatedly); anything else is returned as is. */
function resolve(doc: unknown, schema: unknown): unknown {
  let s = schema;
  for (
    let i = 0;
    i < 10 && s && typeof s === 'object' && typeof (s as { $ref?: unknown }).$ref === 'string';
    i++
  ) {
    const ref = (s as { $ref: string }).$ref;
    if (!ref.startsWith('#/')) return undefined;
    s = ref
      .slice(2)
      .split('/')
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce<unknown>(
        (o, p) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[p] : undefined),
        doc,
      );
  }
  return s;
}

/** Look up a sample's value in Prometheus text by name and exact label set. */
function parseProm(text: string): (name: string, labels: Record<string, string>) => number | undefined {
  const samples: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of m[2]?.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g) ?? [])
      labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return (name, labels) => {
    const want = JSON.stringify(Object.entries(labels).sort());
    return samples.find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want)
      ?.value;
  };
}
