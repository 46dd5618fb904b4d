// End to end: the hash-chained audit log records every call that creates, changes, uses or
// refuses a key, holds no secret, and `keymesh audit verify` catches an edited, removed or
// reordered entry, and names the first bad one whatever is wrong with it. Requests without a
// valid token are audited in aggregate; a log cut short under its anchor stops the node; a log
// written before the hash covered the whole entry still verifies and goes on.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { entryHash, entryHashV1 } from '../../src/audit/chain.js';
import { api, runCli, startNode, type TestNode } from '../helpers/node.js';

// The hash functions take well-formed entries; these tests hand them malformed ones on purpose.
const hashV2 = (e: object) => entryHash(e as Parameters<typeof entryHash>[0]);
const hashV1 = (e: object) => entryHashV1(e as Parameters<typeof entryHashV1>[0]);

interface Entry {
  seq: number;
  time: string;
  node: string;
  actor: string;
  action: string;
  keyId?: string;
  outcome: string;
  details?: Record<string, unknown>;
  hash: string;
  prevHash: string;
}

let node: TestNode;
before(async () => {
  node = await startNode();
});
after(async () => {
  await node.stop();
});

async function allEntries(): Promise<Entry[]> {
  const out: Entry[] = [];
  for (;;) {
    const r = await node.api<{ entries: Entry[] }>('GET', `/v1/audit?after=${out.at(-1)?.seq ?? 0}&limit=50`);
    assert.equal(r.status, 200);
    if (r.body.entries.length === 0) return out;
    out.push(...r.body.entries);
  }
}

test('creations, uses, changes and refusals are all in the chained log', async () => {
  const privateKey = '0x' + '5a'.repeat(32);
  const k = (
    await node.api<{ id: string }>('POST', '/v1/keys/import', {
      name: 'audited',
      algorithm: 'secp256k1',
      privateKey,
    })
  ).body;
  await node.api('POST', `/v1/keys/${k.id}/sign`, { digest: '0x' + '01'.repeat(32) });
  await node.api('POST', `/v1/keys/${k.id}/state`, { state: 'deactivated' });
  assert.equal(
    (await node.api('POST', `/v1/keys/${k.id}/sign`, { digest: '0x' + '01'.repeat(32) })).status,
    409,
  );
  const reader = (
    await node.api<{ token: string }>('POST', '/v1/tokens', { name: 'r', scopes: ['keys:read'] })
  ).body.token;
  assert.equal(
    (await node.api('POST', `/v1/keys/${k.id}/sign`, { digest: '0x' + '01'.repeat(32) }, reader)).status,
    403,
  );
  assert.equal(
    (await node.api('POST', `/v1/keys/${k.id}/sign`, { digest: '0x' + '01'.repeat(32) }, null)).status,
    401,
  );

  const entries = await allEntries();
  const forKey = entries.filter((e) => e.keyId === k.id).map((e) => `${e.action}:${e.outcome}`);
  assert.deepEqual(forKey, [
    'key.import:allowed',
    'key.sign:allowed',
    'key.state:allowed',
    'key.sign:denied',
    'key.sign:denied',
  ]);
  // The refusal without a token is counted, not written one by one (its own test below).
  const actors = entries.filter((e) => e.keyId === k.id).map((e) => e.actor);
  for (const a of actors) assert.match(a, /^token:/);

  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    assert.equal(e.seq, i + 1);
    assert.equal(e.node, node.nodeId);
    assert.match(e.hash, /^[0-9a-f]{64}$/);
    assert.equal(e.prevHash, i === 0 ? '0'.repeat(64) : entries[i - 1]!.hash);
  }
  const text = JSON.stringify(entries);
  assert.ok(!text.includes('5a'.repeat(32)), 'no private key in the audit');
  assert.ok(!text.includes(node.adminToken), 'no token in the audit');
});

test('keymesh audit verify: intact, then edited, removed and reordered entries are caught', async () => {
  for (let i = 0; i < 5; i++)
    await node.api('POST', '/v1/keys', { name: `chain-${i}`, algorithm: 'ed25519' });
  const ok = await runCli(['audit', 'verify', '--data-dir', node.dataDir]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /intact/);
  assert.equal(await node.stop(), 0);

  const file = join(node.dataDir, 'audit.db');
  const db = new Database(file);
  const rows = db.prepare('SELECT seq, entry FROM audit ORDER BY seq').all() as {
    seq: number;
    entry: string;
  }[];
  const restore = () => {
    db.prepare('DELETE FROM audit').run();
    const ins = db.prepare('INSERT INTO audit (seq, entry) VALUES (?, ?)');
    for (const r of rows) ins.run(r.seq, r.entry);
  };
  const verify = () => runCli(['audit', 'verify', '--data-dir', node.dataDir]);

  // Edited: an outcome changed.
  const third = JSON.parse(rows[2]!.entry) as Entry;
  db.prepare('UPDATE audit SET entry = ? WHERE seq = 3').run(JSON.stringify({ ...third, outcome: 'denied' }));
  let r = await verify();
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /entry 3\b/);
  restore();
  assert.equal((await verify()).code, 0);

  // Removed: entry 4 gone.
  db.prepare('DELETE FROM audit WHERE seq = 4').run();
  r = await verify();
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /entry 4\b/);
  restore();

  // Reordered: entries 5 and 6 swapped, with their seq fields rewritten to fit.
  const e5 = JSON.parse(rows[4]!.entry) as Entry;
  const e6 = JSON.parse(rows[5]!.entry) as Entry;
  db.prepare('UPDATE audit SET entry = ? WHERE seq = 5').run(JSON.stringify({ ...e6, seq: 5 }));
  db.prepare('UPDATE audit SET entry = ? WHERE seq = 6').run(JSON.stringify({ ...e5, seq: 6 }));
  r = await verify();
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /entry 5\b/);
  restore();

  // Whatever is wrong with entry 3, verify fails and names it (and does not crash).
  const rehash = (e: Record<string, unknown>) => ({ ...e, hash: hashV2(e) });
  const { hash: _h, ...thirdBody } = third;
  const { actor: _a, ...noActor } = third;
  const bad: [string, string][] = [
    ['null', 'null'],
    ['a number', '42'],
    ['an array', JSON.stringify([third])],
    ['a field the hash does not cover', JSON.stringify({ ...third, note: 'added later' })],
    ['an unknown field, rehashed', JSON.stringify(rehash({ ...thirdBody, note: 'added later' }))],
    ['a missing field', JSON.stringify(noActor)],
    ['a wrong hash', JSON.stringify({ ...third, hash: 'f'.repeat(64) })],
    ['a wrong prevHash, rehashed', JSON.stringify(rehash({ ...thirdBody, prevHash: 'a'.repeat(64) }))],
    ['a wrong type, rehashed', JSON.stringify(rehash({ ...thirdBody, seq: '3' }))],
    ['not JSON', '{"seq":3,'],
  ];
  for (const [what, text] of bad) {
    db.prepare('UPDATE audit SET entry = ? WHERE seq = 3').run(text);
    r = await verify();
    assert.equal(r.code, 1, `${what}: ${r.stderr}`);
    assert.match(r.stderr, /^keymesh: audit chain broken at entry 3: [^\n]+\n$/, what);
    restore();
  }
  db.close();
  assert.equal((await verify()).code, 0);
});

/** The entries of a stopped node's audit file, as stored. */
function storedEntries(dataDir: string): Entry[] {
  const db = new Database(join(dataDir, 'audit.db'), { readonly: true });
  try {
    return (db.prepare('SELECT entry FROM audit ORDER BY seq').pluck().all() as string[]).map(
      (t) => JSON.parse(t) as Entry,
    );
  } finally {
    db.close();
  }
}

test('requests without a valid token are audited in aggregate, with a metric; forbidden callers one by one', async () => {
  const n = await startNode();
  const N = 60;
  try {
    const k = (await n.api<{ id: string }>('POST', '/v1/keys', { name: 'agg', algorithm: 'secp256k1' })).body;
    const paths = ['/v1/keys', `/v1/keys/${k.id}`, '/v1/tokens', '/v1/audit'];
    await Promise.all(
      Array.from({ length: N }, (_, i) =>
        api(n.url, 'GET', paths[i % paths.length]!, undefined, i % 2 === 0 ? null : 'not-a-token').then((r) =>
          assert.equal(r.status, 401),
        ),
      ),
    );
    const reader = (
      await n.api<{ token: string }>('POST', '/v1/tokens', { name: 'r', scopes: ['keys:read'] })
    ).body.token;
    const forbidden = await n.api(
      'POST',
      `/v1/keys/${k.id}/sign`,
      { digest: '0x' + '01'.repeat(32) },
      reader,
    );
    assert.equal(forbidden.status, 403);
    const metrics = (await n.api<string>('GET', '/metrics')).body;
    assert.match(metrics, new RegExp(`^keymesh_unauthenticated_refusals_total ${N}$`, 'm'));
  } finally {
    assert.equal(await n.stop(), 0);
  }
  const entries = storedEntries(n.dataDir);
  // None of the refusals without a token has an entry of its own...
  const anonymous = entries.filter((e) => e.actor === 'anonymous');
  const aggregates = anonymous.filter((e) => e.action === 'auth.refused');
  assert.deepEqual(anonymous, aggregates, 'no one-to-one entry for an unauthenticated refusal');
  // ...they are counted, per source, in at most a few entries (one per minute, and one at stop).
  assert.ok(aggregates.length >= 1 && aggregates.length <= 2, `${aggregates.length} aggregate entries`);
  const total = aggregates.reduce((t, e) => t + (e.details!.count as number), 0);
  assert.equal(total, N);
  const bySource = aggregates.reduce(
    (t, e) => t + ((e.details!.bySource as Record<string, number>)['127.0.0.1'] ?? 0),
    0,
  );
  assert.equal(bySource, N, 'counted under the client address');
  for (const e of aggregates) assert.equal(e.outcome, 'denied');
  // The authenticated caller's refusal is its own entry, naming the caller.
  const denied = entries.filter((e) => e.action === 'key.sign' && e.outcome === 'denied');
  assert.equal(denied.length, 1);
  assert.match(denied[0]!.actor, /^token:/);
  const ok = await runCli(['audit', 'verify', '--data-dir', n.dataDir]);
  assert.equal(ok.code, 0, ok.stderr);
});

test('a log cut short under its anchor: the node refuses to start, verify says so; moving the anchor aside accepts it', async () => {
  const n = await startNode();
  for (let i = 0; i < 3; i++) await n.api('POST', '/v1/keys', { name: `cut-${i}`, algorithm: 'ed25519' });
  assert.equal(await n.stop(), 0);
  const before = storedEntries(n.dataDir);
  const last = before.at(-1)!.seq;
  const db = new Database(join(n.dataDir, 'audit.db'));
  db.prepare('DELETE FROM audit WHERE seq > ?').run(last - 2);
  db.close();
  // What is left is a whole chain: only the anchor shows what is missing.
  const r = await runCli(['audit', 'verify', '--data-dir', n.dataDir]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`entry ${last - 1}\\b.*removed`));
  const start = await runCli(['start', '--dev', '--data-dir', n.dataDir, '--http', '127.0.0.1:0'], {
    timeoutMs: 30_000,
  });
  assert.notEqual(start.code, 0);
  assert.doesNotMatch(start.stdout, /ready/);
  assert.match(start.stderr, /^keymesh: [^\n]*audit\.head[^\n]*\n$/);
  // The operator's deliberate step: the anchor moved aside, the node goes on from the log as it is.
  renameSync(join(n.dataDir, 'audit.head'), join(n.dataDir, 'audit.head.old'));
  const again = await startNode({ dataDir: n.dataDir });
  assert.equal((await again.api('POST', '/v1/keys', { name: 'after', algorithm: 'ed25519' })).status, 201);
  assert.equal(await again.stop(), 0);
  assert.ok(existsSync(join(n.dataDir, 'audit.head')), 'a new anchor');
  assert.equal((await runCli(['audit', 'verify', '--data-dir', n.dataDir])).code, 0);
});

test('a log written with v1 hashes (before the hash covered the whole entry) verifies and goes on in v2', async () => {
  const n = await startNode();
  await n.api('POST', '/v1/keys', { name: 'legacy', algorithm: 'ed25519' });
  assert.equal(await n.stop(), 0);
  // Rewrite the log as a node before v2 wrote it: v1 hashes, no anchor.
  const db = new Database(join(n.dataDir, 'audit.db'));
  let prev = '0'.repeat(64);
  for (const e of storedEntries(n.dataDir)) {
    const { hash: _h, ...body } = { ...e, prevHash: prev };
    const v1 = { ...body, hash: hashV1(body) };
    db.prepare('UPDATE audit SET entry = ? WHERE seq = ?').run(JSON.stringify(v1), e.seq);
    prev = v1.hash;
  }
  db.close();
  renameSync(join(n.dataDir, 'audit.head'), join(n.dataDir, 'audit.head.gone'));
  const v = await runCli(['audit', 'verify', '--data-dir', n.dataDir]);
  assert.equal(v.code, 0, v.stderr);

  // A v1 entry with a field added is still caught: v1 entries may hold only v1's fields.
  const legacy = storedEntries(n.dataDir);
  const db2 = new Database(join(n.dataDir, 'audit.db'));
  db2.prepare('UPDATE audit SET entry = ? WHERE seq = 1').run(JSON.stringify({ ...legacy[0]!, extra: 1 }));
  const bad = await runCli(['audit', 'verify', '--data-dir', n.dataDir]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /entry 1\b/);
  db2.prepare('UPDATE audit SET entry = ? WHERE seq = 1').run(JSON.stringify(legacy[0]!));
  db2.close();

  const again = await startNode({ dataDir: n.dataDir });
  await again.api('POST', '/v1/keys', { name: 'after-v1', algorithm: 'ed25519' });
  assert.equal(await again.stop(), 0);
  const all = storedEntries(n.dataDir);
  assert.ok(all.length > legacy.length);
  const next = all[legacy.length]!;
  assert.equal(next.prevHash, legacy.at(-1)!.hash, 'the chain goes on from the v1 head');
  const { hash, ...body } = next;
  assert.equal(hash, hashV2(body), 'new entries are v2');
  assert.equal((await runCli(['audit', 'verify', '--data-dir', n.dataDir])).code, 0);
});
