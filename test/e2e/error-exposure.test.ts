// A message the error table marks not exposable (ERROR_TABLE exposeMessage: the enclave's checks,
// internal failures) never reaches a caller, over REST or JSON-RPC: the caller reads the code's
// fixed message, whatever the error carried. The HTTP server runs on a core whose every call fails
// with the code under test, so each answer is the error handlers' doing alone.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildHttpServer } from '../../src/api/http/server.js';
import type { Core } from '../../src/core/core.js';
import { ERROR_TABLE, ErrorCodes, type ErrorCode, KeymeshError } from '../../src/errors.js';
import { NodeMetrics } from '../../src/metrics.js';

const SECRET = 'fault check failed: k=0x1f2e3d4c5b6a7988 at slot 7';

/** Which code the core fails with next, and whether the JSON-RPC gate lets the call through. */
let failWith: ErrorCode = 'INTERNAL';
let gateOpen = false;
const fail = () => {
  throw new KeymeshError(failWith, SECRET, { details: { secret: SECRET } });
};
const core = new Proxy({} as Core, {
  get: (_t, prop) => {
    if (prop === 'then') return undefined;
    if (prop === 'authorizeSigner') return async () => (gateOpen ? undefined : fail());
    return async () => fail();
  },
});

let app: FastifyInstance;
before(async () => {
  app = await buildHttpServer({ core, metrics: new NodeMetrics(), version: 'test', logLevel: 'silent' });
  await app.ready();
});
after(() => app.close());

const auth = { authorization: 'Bearer km_test' };
const rest = () => app.inject({ method: 'GET', url: '/v1/keys/k1', headers: auth });
const rpc = (method: string, params: unknown[] = []) =>
  app.inject({
    method: 'POST',
    url: '/rpc',
    headers: { ...auth, 'content-type': 'application/json' },
    payload: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });

const hidden = ErrorCodes.filter((c) => !ERROR_TABLE[c].exposeMessage);
const shown = ErrorCodes.filter((c) => ERROR_TABLE[c].exposeMessage);

describe('a message not exposable never reaches a caller', () => {
  test('there are such codes (INTERNAL, ENCLAVE_FAILURE)', () => {
    assert.ok(hidden.includes('INTERNAL') && hidden.includes('ENCLAVE_FAILURE'));
  });
  for (const code of hidden) {
    test(`${code}: REST answers the table's status and fixed message`, async () => {
      failWith = code;
      const r = await rest();
      assert.equal(r.statusCode, ERROR_TABLE[code].http);
      assert.ok(!r.body.includes('fault check') && !r.body.includes('1f2e3d4c'), r.body);
      assert.deepEqual(r.json(), { error: { code, message: ERROR_TABLE[code].message } });
    });
    test(`${code}: JSON-RPC answers the table's code and fixed message, from the gate and from a method`, async () => {
      failWith = code;
      for (const open of [false, true]) {
        gateOpen = open;
        const r = await rpc('eth_sign', ['0x' + '11'.repeat(20), '0x00']);
        assert.ok(!r.body.includes('fault check') && !r.body.includes('1f2e3d4c'), r.body);
        const e = (r.json() as { error: { code: number; message: string; data: unknown } }).error;
        assert.equal(e.code, ERROR_TABLE[code].rpc);
        assert.equal(e.message, ERROR_TABLE[code].message);
        assert.deepEqual(e.data, { code, status: ERROR_TABLE[code].http });
      }
      gateOpen = false;
    });
  }
});

describe('an exposable message reaches the caller as written', () => {
  for (const code of shown) {
    test(`${code}`, async () => {
      failWith = code;
      const r = await rest();
      assert.equal(r.statusCode, ERROR_TABLE[code].http);
      assert.deepEqual(r.json(), { error: { code, message: SECRET } });
      gateOpen = true;
      const e = (await rpc('eth_sign', ['0x' + '11'.repeat(20), '0x00'])).json() as {
        error: { code: number; message: string };
      };
      gateOpen = false;
      assert.equal(e.error.code, ERROR_TABLE[code].rpc);
      assert.equal(e.error.message, SECRET);
    });
  }
});
