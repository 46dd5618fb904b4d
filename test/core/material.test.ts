// A key's material by name (keys/record.ts KeyMaterial) and the pipeline's rule at the moment of
// use (pipeline/material.ts): a sealed blob and a live node's replica reach the enclave; no
// replica, a destroyed key and a replica on a node that is not live do not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KeyMaterial, KeyRecord, ReplicaHolder } from '../../src/core/keys/record.js';
import { materialRef } from '../../src/core/pipeline/material.js';

const record = { id: 'k', version: 2, algorithm: 'secp256k1' } as KeyRecord;
const holder = (live: boolean): ReplicaHolder => ({ nodeId: 'n1', isLive: () => live });
const ref = (material: KeyMaterial) => materialRef({ record, material });

test('each kind of material: what reaches the enclave, and what is refused with which code', () => {
  assert.deepEqual(ref({ kind: 'sealed', blob: 'AQID' }), {
    keyId: 'k',
    version: 2,
    algorithm: 'secp256k1',
    sealed: new Uint8Array([1, 2, 3]),
  });
  assert.equal(ref({ kind: 'replica', blob: 'AQID', holder: holder(true) }).replica, true);
  assert.throws(() => ref({ kind: 'replica', blob: 'AQID', holder: holder(false) }), {
    code: 'NO_LIVE_REPLICA',
  });
  assert.throws(() => ref({ kind: 'none' }), { code: 'NO_LIVE_REPLICA' });
  assert.throws(() => ref({ kind: 'destroyed' }), { code: 'NOT_FOUND' });
});
