// End to end on a standalone node (SQLite): someone who can write the store file but has no
// enclave cannot reactivate a deactivated or compromised key, widen a token or un-revoke one.
// The records are edited in keymesh.db directly while the node runs; the node refuses each with
// RECORD_INTEGRITY (500, fixed message), logs it and audits it, and uses the record again once
// the node's own text is back. Records written without a MAC (older builds) are refused too.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startNode, waitFor, type TestNode } from '../helpers/node.js';

let node: TestNode;
let db: Database.Database;
before(async () => {
  node = await startNode();
  db = new Database(join(node.dataDir, 'keymesh.db'));
  db.pragma('busy_timeout = 5000');
});
after(async () => {
  db.close();
  await node.stop();
});

const digest = '0x' + 'ab'.repeat(32);
const read = (key: string) =>
  (db.prepare('SELECT value FROM kv WHERE key = ?').get(Buffer.from(key)) as { value: string }).value;
const write = (key: string, value: string) =>
  db.prepare('UPDATE kv SET value = ? WHERE key = ?').run(value, Buffer.from(key));
const edited = (json: string, f: (v: Record<string, unknown>) => void) => {
  const v = JSON.parse(json) as Record<string, unknown>;
  f(v);
  return JSON.stringify(v);
};

interface Err {
  error?: { code: string; message: string };
}

function refused(r: { status: number; body: Err }, what: string): void {
  assert.equal(r.status, 500, `${what}: ${JSON.stringify(r.body)}`);
  assert.equal(r.body.error?.code, 'RECORD_INTEGRITY', what);
  assert.ok(!r.body.error.message.includes('mac'), 'which check failed is not told to the caller');
}

async function auditedRefusals(id: string): Promise<number> {
  const r = await node.api<{ entries: { action: string; details?: { id?: string } }[] }>(
    'GET',
    '/v1/audit?after=0&limit=1000',
  );
  return r.body.entries.filter((e) => e.action === 'record.refused' && e.details?.id === id).length;
}

test('a deactivated or compromised key flipped back to active in the SQLite file is refused', async () => {
  for (const to of ['deactivated', 'compromised']) {
    const k = (
      await node.api<{ id: string }>('POST', '/v1/keys', { name: `flip-${to}`, algorithm: 'secp256k1' })
    ).body;
    assert.equal((await node.api('POST', `/v1/keys/${k.id}/sign`, { digest })).status, 200);
    assert.equal((await node.api('POST', `/v1/keys/${k.id}/state`, { state: to })).status, 200);
    assert.equal((await node.api('POST', `/v1/keys/${k.id}/sign`, { digest })).status, 409);
    const own = read(`keys/${k.id}`);
    assert.equal(JSON.parse(own).state, to);
    write(
      `keys/${k.id}`,
      edited(own, (v) => (v.state = 'active')),
    );
    refused(await node.api<Err>('POST', `/v1/keys/${k.id}/sign`, { digest }), `sign with a ${to} key`);
    refused(await node.api<Err>('GET', `/v1/keys/${k.id}`), `read a ${to} key`);
    refused(await node.api<Err>('POST', `/v1/keys/${k.id}/state`, { state: 'active' }), `reactivate ${to}`);
    refused(await node.api<Err>('GET', '/v1/keys'), 'list keys');
    await waitFor('the refusal audited', async () => (await auditedRefusals(k.id)) === 1);
    assert.match(node.stderr(), new RegExp(`refused the stored key record ${k.id} \\(mac\\)`));
    // The node's own text back: the key is what the node made it, and still may not sign.
    write(`keys/${k.id}`, own);
    assert.equal((await node.api('POST', `/v1/keys/${k.id}/sign`, { digest })).status, 409);
    // A record without a MAC, as an older build wrote it, is refused as well.
    write(
      `keys/${k.id}`,
      edited(own, (v) => delete v.mac),
    );
    refused(await node.api<Err>('GET', `/v1/keys/${k.id}`), 'a record without a MAC');
    write(`keys/${k.id}`, own);
  }
});

test('replaying an older, validly MACd key record is refused by a node that has seen a newer one', async () => {
  const k = (await node.api<{ id: string }>('POST', '/v1/keys', { name: 'replay', algorithm: 'ed25519' }))
    .body;
  const active = read(`keys/${k.id}`);
  assert.equal((await node.api('POST', `/v1/keys/${k.id}/state`, { state: 'deactivated' })).status, 200);
  assert.equal((await node.api('GET', `/v1/keys/${k.id}`)).status, 200);
  write(`keys/${k.id}`, active);
  refused(
    await node.api<Err>('POST', `/v1/keys/${k.id}/sign`, { message: '0x01' }),
    'replayed active record',
  );
});

test('a token whose scopes or keyIds are widened, or whose revocation is undone, in the SQLite file is refused', async () => {
  const key = (await node.api<{ id: string }>('POST', '/v1/keys', { name: 'tok-k', algorithm: 'p256' })).body;
  const t = (
    await node.api<{ id: string; token: string }>('POST', '/v1/tokens', {
      name: 'narrow',
      scopes: ['keys:sign'],
      keyIds: [key.id],
    })
  ).body;
  assert.equal((await node.api('GET', '/v1/keys', undefined, t.token)).status, 403);
  const own = read(`tokens/${t.id}`);
  write(
    `tokens/${t.id}`,
    edited(own, (v) => (v.scopes = ['admin'])),
  );
  refused(await node.api<Err>('GET', '/v1/keys', undefined, t.token), 'a widened token');
  refused(
    await node.api<Err>('POST', '/v1/tokens', { name: 'x', scopes: ['admin'] }, t.token),
    'mint with it',
  );
  write(
    `tokens/${t.id}`,
    edited(own, (v) => (v.keyIds = null)),
  );
  refused(await node.api<Err>('GET', '/v1/keys', undefined, t.token), 'a token freed of its keyIds');
  await waitFor('the refusal audited', async () => (await auditedRefusals(t.id)) >= 1);
  write(`tokens/${t.id}`, own);
  assert.equal((await node.api('GET', '/v1/keys', undefined, t.token)).status, 403);

  // Revoked: the record stays, MAC'd, with revokedAt; removing that is an edit like any other.
  assert.equal((await node.api('DELETE', `/v1/tokens/${t.id}`)).status, 204);
  assert.equal((await node.api('GET', '/v1/keys', undefined, t.token)).status, 401);
  const tombstone = read(`tokens/${t.id}`);
  assert.ok(JSON.parse(tombstone).revokedAt);
  write(
    `tokens/${t.id}`,
    edited(tombstone, (v) => delete v.revokedAt),
  );
  refused(await node.api<Err>('POST', `/v1/keys/${key.id}/sign`, { digest }, t.token), 'an un-revoked token');
  // Its pre-revocation text, replayed: this node saw the revocation, so it is refused as older.
  write(`tokens/${t.id}`, own);
  refused(
    await node.api<Err>('POST', `/v1/keys/${key.id}/sign`, { digest }, t.token),
    'a replayed pre-revocation token',
  );
  write(`tokens/${t.id}`, tombstone);
  assert.equal((await node.api('GET', '/v1/keys', undefined, t.token)).status, 401);
});
