// The signing pipeline (core/pipeline/signing.ts) against an in-process core on real parts: every
// signing operation reaches the policy seam with a decoded intent before anything is audited as
// allowed or signed; a denial is audited and signs nothing; a pending verdict signs nothing and
// comes out as ApprovalPending carrying the approval id, for the adapters to render; a failure
// while executing is audited as an error after the allowed entry.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { ApprovalPending } from '../../src/core/pipeline/outcome.js';
import type { SigningIntent, Verdict } from '../../src/core/pipeline/signing.js';
import type { Credential } from '../../src/core/context.js';
import { KeymeshError } from '../../src/errors.js';
import { openTestCore, type TestCore } from '../helpers/core.js';

let t: TestCore;
let admin: Credential;
let verdict: Verdict = { decision: 'allow' };
const judged: SigningIntent<unknown>[] = [];

before(async () => {
  t = await openTestCore();
  admin = await t.adminCredential();
  t.core.deps.policy = {
    judge: (_ctx, intent) => {
      judged.push(intent);
      return verdict;
    },
  };
});
after(() => t.close());

const entries = (requestId: string) =>
  t.audit
    .list(0, 1000)
    .filter((e) => e.requestId === requestId)
    .map((e) => [e.action, e.outcome]);

test('each signing operation hands the policy its decoded facts first', async () => {
  const k = await t.core.createKey(admin, { name: 'p1', algorithm: 'secp256k1' });
  verdict = { decision: 'allow' };
  judged.length = 0;
  await t.core.sign({ ...admin, requestId: 'a1' }, k.id, { digest: '0x' + '22'.repeat(32) });
  await t.core.signEthereumMessage({ ...admin, requestId: 'a2' }, k.id, { message: 'hello' });
  assert.deepEqual(
    judged.map((i) => [i.operation, i.facts.kind, i.keyId, i.digests.length]),
    [
      ['key.sign', 'raw', k.id, 1],
      ['ethereum.message', 'ethereum.message', k.id, 1],
    ],
  );
  const raw = judged[0]!.facts;
  assert.ok(raw.kind === 'raw' && raw.input === 'digest' && /^[0-9a-f]{64}$/.test(raw.sha256));
  assert.deepEqual(entries('a1'), [['key.sign', 'allowed']]);
});

test('denied: audited as denied, nothing signed', async () => {
  const k = await t.core.createKey(admin, { name: 'p2', algorithm: 'secp256k1' });
  verdict = { decision: 'deny', reason: 'not today' };
  const before = t.calls.sign;
  await assert.rejects(t.core.signEthereumMessage({ ...admin, requestId: 'd1' }, k.id, { message: 'x' }), {
    code: 'POLICY_DENIED',
  });
  assert.equal(t.calls.sign, before);
  assert.deepEqual(entries('d1'), [['ethereum.message', 'denied']]);
});

test('pending: nothing signed, the approval id comes out for the adapter', async () => {
  const k = await t.core.createKey(admin, { name: 'p3', algorithm: 'secp256k1' });
  verdict = { decision: 'pending', approvalId: 'apr_1' };
  const before = t.calls.sign;
  const err = await t.core.sign({ ...admin, requestId: 'p1' }, k.id, { digest: '0x' + '33'.repeat(32) }).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof ApprovalPending);
  assert.deepEqual(err.outcome, { kind: 'pending', approvalId: 'apr_1', operation: 'key.sign', keyId: k.id });
  assert.equal(t.calls.sign, before);
  assert.deepEqual(entries('p1'), [], 'neither allowed nor failed');
  verdict = { decision: 'allow' };
});

test('a failure while executing: the allowed entry stands and the failure is audited as an error', async () => {
  const k = await t.core.createKey(admin, { name: 'p4', algorithm: 'secp256k1' });
  verdict = { decision: 'allow' };
  t.faults.sign = new KeymeshError('ENCLAVE_FAILURE', 'the enclave refused');
  const before = t.calls.sign;
  try {
    await assert.rejects(
      t.core.sign({ ...admin, requestId: 'e1' }, k.id, { digest: '0x' + '44'.repeat(32) }),
      {
        code: 'ENCLAVE_FAILURE',
      },
    );
  } finally {
    delete t.faults.sign;
  }
  assert.equal(t.calls.sign, before + 1, 'the enclave was asked, after the allowed entry');
  assert.deepEqual(entries('e1'), [
    ['key.sign', 'allowed'],
    ['key.sign', 'error'],
  ]);
  assert.equal(
    t.audit.list(0, 1000).filter((e) => e.requestId === 'e1')[1]!.details?.code,
    'ENCLAVE_FAILURE',
  );
  // A success writes the allowed entry only: it is the durable record made before the signature.
  await t.core.sign({ ...admin, requestId: 'e2' }, k.id, { digest: '0x' + '44'.repeat(32) });
  assert.deepEqual(entries('e2'), [['key.sign', 'allowed']]);
});
