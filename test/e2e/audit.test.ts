// End to end: the hash-chained audit log records every call that creates, changes, uses or
// refuses a key, holds no secret, and `keymesh audit verify` catches an edited, removed or
// reordered entry.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runCli, startNode, type TestNode } from '../helpers/node.js';

interface Entry {
  seq: number;
  time: string;
  node: string;
  actor: string;
  action: string;
  keyId?: string;
  outcome: string;
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
    'key.sign:denied',
  ]);
  const actors = entries.filter((e) => e.keyId === k.id).map((e) => e.actor);
  assert.equal(actors.at(-1), 'anonymous');
  assert.match(actors[0]!, /^token:/);

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
  db.close();
  assert.equal((await verify()).code, 0);
});
