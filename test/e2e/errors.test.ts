// End to end: every documented error code, from a real node. Bad input is 400 (never 500), unknown
// ids 404, duplicates and forbidden state changes 409, oversized bodies 413, missing or unknown
// tokens 401, missing scope or key 403; every error has the contract's body.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startNode, type TestNode } from '../helpers/node.js';

type Err = { error: { code: string; message: string } };

let node: TestNode;
let keyId: string;
let edId: string;
before(async () => {
  node = await startNode();
  keyId = (await node.api<{ id: string }>('POST', '/v1/keys', { name: 'errors-k1', algorithm: 'secp256k1' }))
    .body.id;
  edId = (await node.api<{ id: string }>('POST', '/v1/keys', { name: 'errors-ed', algorithm: 'ed25519' }))
    .body.id;
});
after(async () => {
  await node.stop();
});

function assertError(r: { status: number; body: unknown }, status: number, code?: string) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  const e = (r.body as Err).error;
  assert.equal(typeof e?.code, 'string');
  assert.match(e.code, /^[A-Z_]+$/);
  assert.equal(typeof e.message, 'string');
  assert.ok(e.message.length > 0);
  if (code) assert.equal(e.code, code);
}

const N_SECP = 'fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141';
const N_P256 = 'ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551';

describe('400: malformed input', () => {
  test('malformed JSON, without echoing the body back', async () => {
    const r = await node.api<Err>('POST', '/v1/keys', '{"name": "x", "algorithm": 0xdeadbeefcafe');
    assertError(r, 400, 'MALFORMED_JSON');
    assert.ok(!r.body.error.message.includes('deadbeef'));
  });
  test('empty body and non-object bodies', async () => {
    assertError(await node.api('POST', '/v1/keys', ''), 400);
    assertError(await node.api('POST', '/v1/keys', '[]'), 400);
    assertError(await node.api('POST', '/v1/keys', '"str"'), 400);
    assertError(await node.api('POST', '/v1/keys', 'null'), 400);
  });
  test('unknown algorithm, missing and extra fields, bad names and labels', async () => {
    assertError(await node.api('POST', '/v1/keys', { name: 'a', algorithm: 'rsa' }), 400, 'INVALID_REQUEST');
    assertError(await node.api('POST', '/v1/keys', { name: 'a' }), 400);
    assertError(await node.api('POST', '/v1/keys', { name: 'a', algorithm: 'p256', extra: 1 }), 400);
    assertError(await node.api('POST', '/v1/keys', { name: '', algorithm: 'p256' }), 400);
    assertError(await node.api('POST', '/v1/keys', { name: 'x'.repeat(129), algorithm: 'p256' }), 400);
    assertError(await node.api('POST', '/v1/keys', { name: 'bad\nname', algorithm: 'p256' }), 400);
    assertError(await node.api('POST', '/v1/keys', { name: 12, algorithm: 'p256' }), 400);
    assertError(await node.api('POST', '/v1/keys', { name: 'l', algorithm: 'p256', labels: { a: 1 } }), 400);
    assertError(await node.api('POST', '/v1/keys', { name: 'l', algorithm: 'p256', labels: [] }), 400);
  });
  test('invalid private keys: zero, the curve order, above it, wrong length, bad hex', async () => {
    const imp = (algorithm: string, privateKey: unknown) =>
      node.api('POST', '/v1/keys/import', { name: `imp-${Math.random()}`, algorithm, privateKey });
    for (const alg of ['secp256k1', 'p256']) assertError(await imp(alg, '0x' + '00'.repeat(32)), 400);
    assertError(await imp('secp256k1', '0x' + N_SECP), 400);
    assertError(await imp('p256', '0x' + N_P256), 400);
    assertError(await imp('secp256k1', '0x' + 'ff'.repeat(32)), 400);
    assertError(await imp('secp256k1', '0x' + '11'.repeat(31)), 400);
    assertError(await imp('ed25519', '0x' + '11'.repeat(33)), 400);
    assertError(await imp('secp256k1', '0x' + 'zz'.repeat(32)), 400);
    assertError(await imp('secp256k1', '11'.repeat(32)), 400);
    assertError(await imp('secp256k1', '0x' + '1'.repeat(63)), 400);
    assertError(await imp('secp256k1', 42), 400);
  });
  test('sign: wrong digest length, bad hex, both or neither of digest/message', async () => {
    const sign = (body: unknown) => node.api('POST', `/v1/keys/${keyId}/sign`, body);
    assertError(await sign({ digest: '0x' + '11'.repeat(31) }), 400);
    assertError(await sign({ digest: '0x' + '11'.repeat(33) }), 400);
    assertError(await sign({ digest: '0x' + 'gg'.repeat(32) }), 400);
    assertError(await sign({ digest: '0x123' }), 400);
    assertError(await sign({}), 400);
    assertError(await sign({ digest: '0x' + '11'.repeat(32), message: '0x00' }), 400);
    assertError(await sign({ message: 'hello' }), 400);
    assertError(await node.api('POST', `/v1/keys/${edId}/sign`, { digest: '0x' + '11'.repeat(32) }), 400);
  });
  test('verify: signature of the wrong length', async () => {
    assertError(
      await node.api('POST', `/v1/keys/${keyId}/verify`, {
        digest: '0x' + '11'.repeat(32),
        signature: '0x' + '11'.repeat(63),
      }),
      400,
    );
    assertError(await node.api('POST', `/v1/keys/${keyId}/verify`, { digest: '0x' + '11'.repeat(32) }), 400);
  });
  test('list: bad limit, state and cursor', async () => {
    assertError(await node.api('GET', '/v1/keys?limit=0'), 400);
    assertError(await node.api('GET', '/v1/keys?limit=100000'), 400);
    assertError(await node.api('GET', '/v1/keys?limit=abc'), 400);
    assertError(await node.api('GET', '/v1/keys?state=gone'), 400);
    assertError(await node.api('GET', '/v1/keys?cursor=not-a-cursor'), 400);
    assertError(await node.api('GET', '/v1/audit?limit=-1'), 400);
  });
  test('tokens: unknown scope, empty scopes, bad ttl', async () => {
    assertError(await node.api('POST', '/v1/tokens', { name: 't', scopes: ['keys:everything'] }), 400);
    assertError(await node.api('POST', '/v1/tokens', { name: 't', scopes: [] }), 400);
    assertError(
      await node.api('POST', '/v1/tokens', { name: 't', scopes: ['keys:read'], ttlSeconds: 0 }),
      400,
    );
    assertError(
      await node.api('POST', '/v1/tokens', { name: 't', scopes: ['keys:read'], keyIds: ['nope'] }),
      400,
    );
  });
});

describe('404, 409, 413', () => {
  test('unknown key ids and routes', async () => {
    assertError(await node.api('GET', '/v1/keys/0190a4c0-0000-7000-8000-000000000000'), 404, 'NOT_FOUND');
    assertError(await node.api('GET', '/v1/keys/not-an-id'), 404, 'NOT_FOUND');
    assertError(
      await node.api('POST', '/v1/keys/0190a4c0-0000-7000-8000-000000000000/sign', {
        digest: '0x' + '11'.repeat(32),
      }),
      404,
    );
    assertError(await node.api('DELETE', '/v1/tokens/0190a4c0-0000-7000-8000-000000000000'), 404);
    assertError(await node.api('GET', '/v1/nothing-here'), 404, 'NOT_FOUND');
  });
  test('a duplicate name is 409, for created and imported keys alike', async () => {
    assertError(
      await node.api('POST', '/v1/keys', { name: 'errors-k1', algorithm: 'p256' }),
      409,
      'CONFLICT',
    );
    assertError(
      await node.api('POST', '/v1/keys/import', {
        name: 'errors-k1',
        algorithm: 'p256',
        privateKey: '0x' + '22'.repeat(32),
      }),
      409,
    );
  });
  test('concurrent creations of one name: exactly one wins', async () => {
    const rs = await Promise.all(
      Array.from({ length: 8 }, () => node.api('POST', '/v1/keys', { name: 'race', algorithm: 'ed25519' })),
    );
    assert.equal(rs.filter((r) => r.status === 201).length, 1);
    for (const r of rs.filter((r) => r.status !== 201)) assertError(r, 409);
  });
  test('a body over 1 MiB is 413', async () => {
    const big = JSON.stringify({ name: 'big', algorithm: 'p256', labels: { a: 'x'.repeat(1024 * 1024) } });
    assertError(await node.api('POST', '/v1/keys', big), 413, 'PAYLOAD_TOO_LARGE');
  });
});

describe('401 and 403', () => {
  test('no token, unknown token, malformed header, revoked token', async () => {
    assertError(await node.api('GET', '/v1/keys', undefined, null), 401, 'UNAUTHENTICATED');
    assertError(await node.api('GET', '/v1/keys', undefined, 'kmt_nope'), 401);
    const forged = node.adminToken.slice(0, -4) + 'AAAA';
    assertError(await node.api('GET', '/v1/keys', undefined, forged), 401);
    const r = await fetch(`${node.url}/v1/keys`, { headers: { authorization: `Basic ${node.adminToken}` } });
    assert.equal(r.status, 401);
  });
  test('a token without the scope, or without the key, is 403', async () => {
    const reader = await node.api<{ token: string }>('POST', '/v1/tokens', {
      name: 'reader',
      scopes: ['keys:read'],
    });
    assertError(
      await node.api('POST', '/v1/keys', { name: 'nope', algorithm: 'p256' }, reader.body.token),
      403,
      'FORBIDDEN',
    );
    assertError(
      await node.api('POST', `/v1/keys/${keyId}/sign`, { digest: '0x' + '11'.repeat(32) }, reader.body.token),
      403,
    );
    assertError(await node.api('GET', '/v1/tokens', undefined, reader.body.token), 403);
    assertError(await node.api('GET', '/v1/audit', undefined, reader.body.token), 403);
    const narrow = await node.api<{ token: string }>('POST', '/v1/tokens', {
      name: 'narrow',
      scopes: ['keys:sign', 'keys:read'],
      keyIds: [edId],
    });
    assertError(
      await node.api('POST', `/v1/keys/${keyId}/sign`, { digest: '0x' + '11'.repeat(32) }, narrow.body.token),
      403,
    );
    assertError(await node.api('GET', `/v1/keys/${keyId}`, undefined, narrow.body.token), 403);
  });
});

describe('who asks is settled before what is asked', () => {
  test('no token and a bad body: 401; a token without the scope and a bad body: 403; then 400', async () => {
    const bad = { name: 12, algorithm: 'rsa', extra: true };
    assertError(await node.api('POST', '/v1/keys', bad, null), 401, 'UNAUTHENTICATED');
    const reader = await node.api<{ token: string }>('POST', '/v1/tokens', {
      name: 'r401',
      scopes: ['keys:read'],
    });
    assertError(await node.api('POST', '/v1/keys', bad, reader.body.token), 403, 'FORBIDDEN');
    assertError(await node.api('POST', '/v1/keys', bad), 400, 'INVALID_REQUEST');
    assertError(await node.api('POST', `/v1/keys/${keyId}/state`, 'null', null), 401);
    assertError(await node.api('POST', `/v1/keys/${keyId}/state`, 'null'), 400);
    assertError(await node.api('GET', '/v1/keys?limit=abc', undefined, null), 401);
  });
});

describe('never a 500 for what a client sends', () => {
  test('garbage bodies on every route', async () => {
    const routes: [string, string][] = [
      ['POST', '/v1/keys'],
      ['POST', '/v1/keys/import'],
      ['POST', `/v1/keys/${keyId}/sign`],
      ['POST', `/v1/keys/${keyId}/verify`],
      ['POST', `/v1/keys/${keyId}/state`],
      ['POST', '/v1/tokens'],
    ];
    const bodies = [
      '{',
      '{"a":',
      '1',
      'true',
      '{"__proto__": {"x": 1}}',
      '{"constructor": {"prototype": {}}}',
      JSON.stringify({ name: { $gt: '' }, algorithm: ['secp256k1'] }),
      JSON.stringify({ digest: null, message: null }),
      JSON.stringify({ state: 'destroyed' }),
      JSON.stringify({ privateKey: '0x' + '00'.repeat(10000) }),
      '\u0000\u0001\u0002',
    ];
    for (const [method, path] of routes)
      for (const b of bodies) {
        const r = await node.api(method, path, b);
        assert.ok(r.status >= 400 && r.status < 500, `${method} ${path} ${b.slice(0, 40)} → ${r.status}`);
        assertError(r, r.status);
      }
  });
});
