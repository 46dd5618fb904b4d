// End to end, raw bytes at a real node's HTTP edge: what Node's parser and Fastify's router refuse
// answers with the contract's error body and never echoes the request; request bodies are JSON
// (by content type) and valid UTF-8, and a call without a body may still say it is JSON.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startNode, type TestNode } from '../helpers/node.js';
import { rawRequest, type RawAnswer } from './http-raw.js';

type Err = { error: { code: string; message: string } };

let node: TestNode;
let keyId: string;
before(async () => {
  node = await startNode();
  keyId = (await node.api<{ id: string }>('POST', '/v1/keys', { name: 'edge-k1', algorithm: 'secp256k1' }))
    .body.id;
});
after(async () => {
  await node.stop();
});

/** A string placed in every malformed request: no answer may contain it. */
const MARK = 'EchoMark7q';

function assertContractError(a: RawAnswer, status: number, code: string) {
  assert.equal(a.status, status, a.raw.toString('latin1').slice(0, 300));
  assert.match(a.headers['content-type'] ?? '', /^application\/json/);
  const body = JSON.parse(a.body) as Err;
  assert.deepEqual(Object.keys(body), ['error']);
  assert.equal(body.error.code, code);
  assert.equal(typeof body.error.message, 'string');
  assert.ok(body.error.message.length > 0);
  assert.ok(!a.raw.toString('latin1').toLowerCase().includes(MARK.toLowerCase()), 'the request is echoed');
}

describe('the HTTP server’s own refusals have the contract’s body and echo nothing', () => {
  const host = 'Host: localhost\r\n';
  const cases: { label: string; bytes: () => string; status: number; code: string }[] = [
    {
      label: 'a bad % escape in the path',
      bytes: () => `GET /v1/keys/%zz${MARK} HTTP/1.1\r\n${host}Connection: close\r\n\r\n`,
      status: 400,
      code: 'INVALID_REQUEST',
    },
    {
      label: 'an over-long URL',
      bytes: () => `GET /v1/${MARK}${'a'.repeat(20_000)} HTTP/1.1\r\n${host}Connection: close\r\n\r\n`,
      status: 431,
      code: 'HEADERS_TOO_LARGE',
    },
    {
      label: 'too many header bytes',
      bytes: () => `GET /v1/health HTTP/1.1\r\n${host}X-${MARK}: ${'b'.repeat(20_000)}\r\n\r\n`,
      status: 431,
      code: 'HEADERS_TOO_LARGE',
    },
    {
      label: 'not HTTP at all',
      bytes: () => `${MARK} GARBAGE\r\n\r\n`,
      status: 400,
      code: 'INVALID_REQUEST',
    },
    {
      label: 'a control character in a header',
      bytes: () => `GET /v1/health HTTP/1.1\r\n${host}X-A: \x01${MARK}\r\n\r\n`,
      status: 400,
      code: 'INVALID_REQUEST',
    },
    {
      label: 'both Content-Length and Transfer-Encoding',
      bytes: () =>
        `POST /v1/keys HTTP/1.1\r\n${host}Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
      status: 400,
      code: 'INVALID_REQUEST',
    },
    {
      label: 'a bad chunk size',
      bytes: () =>
        `POST /v1/keys HTTP/1.1\r\n${host}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${MARK}\r\n`,
      status: 400,
      code: 'INVALID_REQUEST',
    },
    {
      label: 'HTTP/1.1 without a Host header',
      bytes: () => `GET /v1/health?${MARK} HTTP/1.1\r\nConnection: close\r\n\r\n`,
      status: 400,
      code: 'INVALID_REQUEST',
    },
    {
      label: 'an Expect other than 100-continue',
      bytes: () => `GET /v1/health HTTP/1.1\r\n${host}Expect: ${MARK}\r\nConnection: close\r\n\r\n`,
      status: 417,
      code: 'EXPECTATION_FAILED',
    },
    {
      label: 'a path parameter over the router’s length limit',
      bytes: () => `GET /v1/keys/${MARK}${'c'.repeat(300)} HTTP/1.1\r\n${host}Connection: close\r\n\r\n`,
      status: 404,
      code: 'NOT_FOUND',
    },
    {
      label: 'an unknown route',
      bytes: () => `GET /v1/${MARK} HTTP/1.1\r\n${host}Connection: close\r\n\r\n`,
      status: 404,
      code: 'NOT_FOUND',
    },
    {
      label: 'an unknown method on a route',
      bytes: () => `PATCH /v1/keys?${MARK} HTTP/1.1\r\n${host}Connection: close\r\n\r\n`,
      status: 404,
      code: 'NOT_FOUND',
    },
    {
      label: 'a non-JSON body',
      bytes: () =>
        `POST /v1/keys HTTP/1.1\r\n${host}Content-Type: text/${MARK}\r\nContent-Length: 8\r\nConnection: close\r\n\r\n${MARK.slice(0, 8)}`,
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
    },
    {
      label: 'a body over the limit',
      bytes: () =>
        `POST /v1/keys HTTP/1.1\r\n${host}Content-Type: application/json\r\nContent-Length: ${2 * 1024 * 1024}\r\nConnection: close\r\n\r\n` +
        `{"name":"${MARK}` +
        'd'.repeat(2 * 1024 * 1024 - `{"name":"${MARK}`.length),
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
    },
    {
      label: 'a malformed JSON body',
      bytes: () =>
        `POST /v1/keys HTTP/1.1\r\n${host}Content-Type: application/json\r\nContent-Length: 12\r\nConnection: close\r\n\r\n{${MARK}"`,
      status: 400,
      code: 'MALFORMED_JSON',
    },
  ];
  for (const c of cases)
    test(c.label, async () => {
      assertContractError(await rawRequest(node.url, c.bytes()), c.status, c.code);
    });

  test('the node still serves after all of them', async () => {
    assert.equal((await node.api('GET', '/v1/health')).status, 200);
  });
});

describe('a body is valid UTF-8 or refused', () => {
  const withBytes = (before: string, bytes: number[], after: string) =>
    Buffer.concat([Buffer.from(before), Buffer.from(bytes), Buffer.from(after)]);
  const post = (path: string, body: Buffer) =>
    fetch(node.url + path, {
      method: 'POST',
      headers: { authorization: `Bearer ${node.adminToken}`, 'content-type': 'application/json' },
      body,
    });

  test('invalid bytes in a string are 400 MALFORMED_JSON, never signed', async () => {
    const bad = [
      [0xff, 0xfe],
      [0xc3], // a lead byte without its continuation
      [0xed, 0xa0, 0x80], // a UTF-16 surrogate encoded in UTF-8
      [0xc0, 0xaf], // an over-long encoding of "/"
    ];
    for (const bytes of bad) {
      const r = await post(`/v1/keys/${keyId}/ethereum/message`, withBytes('{"message":"', bytes, '"}'));
      const body = (await r.json()) as Err & { signature?: string };
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(body.error.code, 'MALFORMED_JSON');
      assert.equal(body.signature, undefined);
    }
  });

  test('a body cut inside a multi-byte character is refused', async () => {
    const r = await post(`/v1/keys/${keyId}/ethereum/message`, Buffer.from([0x7b, 0x22, 0xe2, 0x9c]));
    assert.equal(r.status, 400);
    assert.equal(((await r.json()) as Err).error.code, 'MALFORMED_JSON');
  });

  test('over JSON-RPC too: personal_sign of invalid UTF-8 is refused, not signed', async () => {
    const addr = (await node.api<{ addresses: { ethereum: string } }>('GET', `/v1/keys/${keyId}`)).body
      .addresses.ethereum;
    const r = await post(
      '/rpc',
      withBytes(
        '{"jsonrpc":"2.0","id":1,"method":"personal_sign","params":["',
        [0xff, 0xfe],
        `","${addr}"]}`,
      ),
    );
    const body = (await r.json()) as { result?: unknown; error?: { data?: { code: string } } };
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(body.result, undefined);
    assert.equal(body.error?.data?.code, 'MALFORMED_JSON');
  });

  test('valid multi-byte text still signs', async () => {
    const r = await post(
      `/v1/keys/${keyId}/ethereum/message`,
      Buffer.from('{"message":"gm ✓ 😀 é"}', 'utf8'),
    );
    assert.equal(r.status, 200, await r.clone().text());
    assert.match(((await r.json()) as { signature: string }).signature, /^0x[0-9a-f]{130}$/);
  });
});

describe('content types', () => {
  const send = (method: string, path: string, headers: Record<string, string>, body?: string) =>
    fetch(node.url + path, {
      method,
      headers: { authorization: `Bearer ${node.adminToken}`, ...headers },
      ...(body === undefined ? {} : { body }),
    });

  test('DELETE with content-type: application/json and no body revokes the token', async () => {
    const t = (
      await node.api<{ id: string; token: string }>('POST', '/v1/tokens', {
        name: 'edge-revoke',
        scopes: ['keys:read'],
      })
    ).body;
    assert.equal((await node.api('GET', '/v1/keys', undefined, t.token)).status, 200);
    const r = await send('DELETE', `/v1/tokens/${t.id}`, { 'content-type': 'application/json' });
    assert.equal(r.status, 204, await r.text());
    assert.equal(
      (await node.api('GET', '/v1/keys', undefined, t.token)).status,
      401,
      'the token was revoked',
    );
  });

  test('DELETE of a key with content-type: application/json and no body destroys it', async () => {
    const k = (await node.api<{ id: string }>('POST', '/v1/keys', { name: 'edge-del', algorithm: 'ed25519' }))
      .body;
    const r = await send('DELETE', `/v1/keys/${k.id}`, { 'content-type': 'application/json' });
    assert.equal(r.status, 200, await r.clone().text());
    assert.equal(((await r.json()) as { state: string }).state, 'destroyed');
  });

  test('text/plain, forms and multipart are 415, and nothing is created', async () => {
    const json = JSON.stringify({ name: 'edge-415', algorithm: 'p256' });
    for (const ct of [
      'text/plain',
      'text/plain;charset=UTF-8',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/xml',
      'not a media type',
    ]) {
      const r = await send('POST', '/v1/keys', { 'content-type': ct }, json);
      const body = (await r.json()) as Err;
      assert.equal(r.status, 415, `${ct}: ${JSON.stringify(body)}`);
      assert.equal(body.error.code, 'UNSUPPORTED_MEDIA_TYPE');
      assert.match(body.error.message, /application\/json/);
    }
    const list = await node.api<{ keys: { name: string }[] }>('GET', '/v1/keys?name=edge-415');
    assert.deepEqual(list.body.keys, []);
  });

  test('JSON media types, with parameters or +json, and a body without a content type are parsed', async () => {
    let i = 0;
    for (const headers of [
      { 'content-type': 'application/json; charset=utf-8' },
      { 'content-type': 'Application/JSON' },
      { 'content-type': 'application/vnd.keymesh+json' },
    ]) {
      const r = await send(
        'POST',
        '/v1/keys',
        headers,
        JSON.stringify({ name: `edge-ct-${i++}`, algorithm: 'p256' }),
      );
      assert.equal(r.status, 201, await r.text());
    }
    // No content type at all (fetch would add text/plain to a string body): taken as JSON.
    const json = JSON.stringify({ name: 'edge-ct-raw', algorithm: 'p256' });
    const raw = await rawRequest(
      node.url,
      `POST /v1/keys HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${node.adminToken}\r\n` +
        `Content-Length: ${json.length}\r\nConnection: close\r\n\r\n${json}`,
    );
    assert.equal(raw.status, 201, raw.body);
  });

  test('a non-JSON content type with an empty body is no body at all', async () => {
    const t = (
      await node.api<{ id: string }>('POST', '/v1/tokens', { name: 'edge-empty', scopes: ['keys:read'] })
    ).body;
    const r = await send('DELETE', `/v1/tokens/${t.id}`, { 'content-type': 'text/plain' }, '');
    assert.equal(r.status, 204, await r.text());
  });
});
