// A signature waiting for an approval, end to end over HTTP: the policy seam (CoreDeps.policy; a
// pass-through unless one is given) answers pending, and the in-process HTTP server on a real core
// (SQLite, enclave worker, audit writer) renders it as REST 202 {id, status, operation, keyId}
// (the contract's approval object, API.md) and as the JSON-RPC error -32010 carrying the approval id. Nothing is signed, nothing is
// audited as allowed or failed; the same call signs once the policy allows it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Wallet } from 'ethers';
import { buildHttpServer } from '../../src/api/http/server.js';
import { APPROVAL_PENDING } from '../../src/api/rpc/routes.js';
import type { Verdict } from '../../src/core/pipeline/signing.js';
import { bootstrapAdminToken } from '../../src/core/tokens/create.js';
import { NodeMetrics } from '../../src/metrics.js';
import { openTestCore, type TestCore } from '../helpers/core.js';

let t: TestCore;
let app: FastifyInstance;
let url: string;
let token: string;
let verdict: Verdict = { decision: 'pending', approvalId: 'apr_e2e_1' };
const wallet = Wallet.createRandom();
let keyId: string;

before(async () => {
  t = await openTestCore({ policy: { judge: () => verdict } });
  token = (await bootstrapAdminToken(t.core.deps)).token;
  app = await buildHttpServer({
    core: t.core,
    metrics: new NodeMetrics(),
    version: 'test',
    logLevel: 'silent',
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const r = await call('POST', '/v1/keys/import', {
    name: 'pending',
    algorithm: 'secp256k1',
    privateKey: wallet.privateKey,
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  keyId = (r.body as { id: string }).id;
});
after(async () => {
  await app.close();
  await t.close();
});

/** The answer, and the request id the node gave the call (its audit entries carry it). */
async function call(method: string, path: string, body?: unknown) {
  const res = await fetch(url + path, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return {
    status: res.status,
    body: (await res.json()) as unknown,
    requestId: res.headers.get('x-request-id')!,
  };
}

const written = (requestId: string) => t.audit.list(0, 100_000).filter((e) => e.requestId === requestId);

describe('a pending outcome', () => {
  test('REST: 202 with the approval id, the operation and the key; nothing signed or audited', async () => {
    const before = t.calls.sign;
    const r = await call('POST', `/v1/keys/${keyId}/sign`, { digest: '0x' + '24'.repeat(32) });
    assert.equal(r.status, 202);
    assert.deepEqual(r.body, { id: 'apr_e2e_1', status: 'pending', operation: 'key.sign', keyId });
    const tx = await call('POST', `/v1/keys/${keyId}/ethereum/transaction`, {
      transaction: { chainId: 1, nonce: 0, gas: 21000, gasPrice: '1', to: wallet.address },
    });
    assert.equal(tx.status, 202);
    assert.deepEqual(tx.body, {
      id: 'apr_e2e_1',
      status: 'pending',
      operation: 'ethereum.transaction',
      keyId,
    });
    assert.equal(t.calls.sign, before, 'the enclave was not asked');
    assert.ok(r.requestId && tx.requestId);
    assert.deepEqual([...written(r.requestId), ...written(tx.requestId)], []);
  });

  test('JSON-RPC: error -32010 carrying the approval id; nothing signed or audited', async () => {
    verdict = { decision: 'pending', approvalId: 'apr_e2e_2' };
    const before = t.calls.sign;
    const r = await call('POST', '/rpc', {
      jsonrpc: '2.0',
      id: 7,
      method: 'personal_sign',
      params: ['0x' + Buffer.from('wait for it').toString('hex'), wallet.address],
    });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, {
      jsonrpc: '2.0',
      id: 7,
      error: {
        code: APPROVAL_PENDING,
        message: 'Approval pending',
        data: { approvalId: 'apr_e2e_2', status: 'pending' },
      },
    });
    assert.equal(t.calls.sign, before);
    assert.deepEqual(written(r.requestId), []);
  });

  test('once the policy allows, the same call signs (200) and is audited as allowed', async () => {
    verdict = { decision: 'allow' };
    const r = await call('POST', `/v1/keys/${keyId}/sign`, { digest: '0x' + '24'.repeat(32) });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(
      written(r.requestId).map((e) => [e.action, e.outcome]),
      [['key.sign', 'allowed']],
    );
  });
});
