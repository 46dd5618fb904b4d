// What a failed etcd call means (src/store/etcd/failures.ts): retried or not, and the typed error
// it becomes, decided once from etcd3's classes and etcd's own descriptions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClientClosedError, EtcdLeaseInvalidError, GRPCUnavailableError } from 'etcd3';
import { KeymeshError } from '../../../src/errors.js';
import { recognise } from '../../../src/store/etcd/failures.js';

test('etcd3 classes and flags decide before any description', () => {
  assert.equal(recognise(new ClientClosedError('kv'), 'read').failure, 'closed');
  const lease = recognise(new EtcdLeaseInvalidError('7'), 'write');
  assert.equal(lease.failure, 'final');
  assert.equal(lease.error.code, 'CONFLICT');
  assert.deepEqual(lease.error.details, { reason: 'lease_expired' });
  const breaker = Object.assign(new Error('etcdserver: request is too large'), {
    isBrokenCircuitError: true,
  });
  assert.equal(recognise(breaker, 'write').failure, 'retry', 'an open circuit never sent the request');
});

test('our own refusal from inside a call is final and unchanged', () => {
  const own = new KeymeshError('INVALID_REQUEST', 'etcdserver: no leader');
  const r = recognise(own, 'read');
  assert.equal(r.failure, 'final');
  assert.equal(r.error, own);
});

test('never applied: retried; refused: final with its own code; anything else: ambiguous', () => {
  for (const d of [
    'etcdserver: no leader',
    '14 UNAVAILABLE: No connection established',
    'connect ECONNREFUSED 127.0.0.1:1',
  ])
    assert.equal(recognise(new GRPCUnavailableError(d), 'write').failure, 'retry', d);
  const tooLarge = recognise(new Error('etcdserver: request is too large'), 'write');
  assert.equal(tooLarge.failure, 'final');
  assert.equal(tooLarge.error.code, 'INVALID_REQUEST');
  const full = recognise(new Error('etcdserver: mvcc: database space exceeded'), 'write');
  assert.equal(full.failure, 'final');
  assert.equal(full.error.code, 'UNAVAILABLE');

  const changed = new GRPCUnavailableError('etcdserver: leader changed');
  const write = recognise(changed, 'write');
  assert.equal(write.failure, 'ambiguous');
  assert.equal(write.error.code, 'UNAVAILABLE');
  assert.equal(write.error.details?.outcome, 'unknown', 'a write that may have happened says so');
  assert.equal(recognise(changed, 'read').error.details?.outcome, undefined);
});
