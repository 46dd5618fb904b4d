// End to end: tokens are shown once, stored only as a hash, narrowed by scopes and key ids,
// revocable at once, and expire.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startNode, type TestNode } from '../helpers/node.js';

let node: TestNode;
before(async () => {
  node = await startNode();
});
after(async () => {
  await node.stop();
});

const digest = '0x' + 'ab'.repeat(32);

test('a token is shown once; lists and the data dir never hold its secret', async () => {
  const r = await node.api<{ id: string; token: string }>('POST', '/v1/tokens', {
    name: 'ci',
    scopes: ['keys:read'],
  });
  assert.equal(r.status, 201);
  assert.match(r.body.token, /^kmt_/);
  const list = await node.api<{ tokens: Record<string, unknown>[] }>('GET', '/v1/tokens');
  const mine = list.body.tokens.find((t) => t.id === r.body.id);
  assert.ok(mine);
  assert.deepEqual(Object.keys(mine).sort(), ['createdAt', 'expiresAt', 'id', 'keyIds', 'name', 'scopes']);
  // kmt_<36-char id>_<secret>; the secret is base64url and may itself hold '_'.
  const secret = r.body.token.slice('kmt_'.length + 36 + 1);
  assert.equal(secret.length, 43);
  assert.ok(!JSON.stringify(list.body).includes(secret));
  for (const f of readdirSync(node.dataDir)) {
    const p = join(node.dataDir, f);
    if (statSync(p).isFile()) assert.ok(!readFileSync(p).includes(secret), `${f} holds a token secret`);
  }
});

test('scopes: read-only tokens read, sign-only tokens sign, neither manages', async () => {
  const k = (await node.api<{ id: string }>('POST', '/v1/keys', { name: 'scoped', algorithm: 'secp256k1' }))
    .body;
  const reader = (
    await node.api<{ token: string }>('POST', '/v1/tokens', { name: 'r', scopes: ['keys:read'] })
  ).body.token;
  const signer = (
    await node.api<{ token: string }>('POST', '/v1/tokens', { name: 's', scopes: ['keys:sign'] })
  ).body.token;
  assert.equal((await node.api('GET', `/v1/keys/${k.id}`, undefined, reader)).status, 200);
  assert.equal((await node.api('POST', `/v1/keys/${k.id}/sign`, { digest }, reader)).status, 403);
  assert.equal((await node.api('POST', `/v1/keys/${k.id}/sign`, { digest }, signer)).status, 200);
  assert.equal((await node.api('GET', `/v1/keys/${k.id}`, undefined, signer)).status, 403);
  for (const t of [reader, signer]) {
    assert.equal((await node.api('POST', `/v1/keys/${k.id}/state`, { state: 'deactivated' }, t)).status, 403);
    assert.equal((await node.api('DELETE', `/v1/keys/${k.id}`, undefined, t)).status, 403);
    assert.equal((await node.api('POST', '/v1/tokens', { name: 'x', scopes: ['admin'] }, t)).status, 403);
  }
});

test('keyIds narrow a token to those keys, in listing too', async () => {
  const a = (await node.api<{ id: string }>('POST', '/v1/keys', { name: 'narrow-a', algorithm: 'p256' }))
    .body;
  const b = (await node.api<{ id: string }>('POST', '/v1/keys', { name: 'narrow-b', algorithm: 'p256' }))
    .body;
  const t = (
    await node.api<{ token: string }>('POST', '/v1/tokens', {
      name: 'only-a',
      scopes: ['keys:sign', 'keys:read'],
      keyIds: [a.id],
    })
  ).body.token;
  assert.equal((await node.api('POST', `/v1/keys/${a.id}/sign`, { digest }, t)).status, 200);
  assert.equal((await node.api('POST', `/v1/keys/${b.id}/sign`, { digest }, t)).status, 403);
  const list = await node.api<{ keys: { id: string }[] }>('GET', '/v1/keys', undefined, t);
  assert.deepEqual(
    list.body.keys.map((k) => k.id),
    [a.id],
  );
});

test('a revoked token stops working with the very next request', async () => {
  const r = (
    await node.api<{ id: string; token: string }>('POST', '/v1/tokens', {
      name: 'rev',
      scopes: ['keys:read'],
    })
  ).body;
  assert.equal((await node.api('GET', '/v1/keys', undefined, r.token)).status, 200);
  assert.equal((await node.api('DELETE', `/v1/tokens/${r.id}`)).status, 204);
  assert.equal((await node.api('GET', '/v1/keys', undefined, r.token)).status, 401);
  assert.equal((await node.api('DELETE', `/v1/tokens/${r.id}`)).status, 404);
});

test('a token with ttlSeconds expires', async () => {
  const r = (
    await node.api<{ token: string }>('POST', '/v1/tokens', {
      name: 'short',
      scopes: ['keys:read'],
      ttlSeconds: 1,
    })
  ).body;
  assert.equal((await node.api('GET', '/v1/keys', undefined, r.token)).status, 200);
  await new Promise((res) => setTimeout(res, 1200));
  assert.equal((await node.api('GET', '/v1/keys', undefined, r.token)).status, 401);
});
