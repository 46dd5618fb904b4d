// The store's key layout (src/store/layout.ts): the record kinds live under prefixes none of which
// contains another (a listing of one kind never returns another's records), each key lies under
// its kind's prefix, and a replica key reads back as the key and node it names, nothing else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BOOTSTRAP_KEY,
  ClusterLayout,
  ethAddressIndexKey,
  ethAddressIndexOf,
  hdAddressesOf,
  hdAddressKey,
  HD_ADDRESSES_PREFIX,
  keyKey,
  KEYS_PREFIX,
  nameKey,
  parseReplicaKey,
  replicaKey,
  replicasOf,
  REPLICAS_PREFIX,
  tokenKey,
  TOKENS_PREFIX,
} from '../../src/store/layout.js';

const ID = '01234567-89ab-7def-8123-456789abcdef';
const ADDR = '0xAbCdEf0123456789abcdef0123456789ABCDEF01';

test('the kinds of record live under prefixes none of which contains another', () => {
  const prefixes = [
    KEYS_PREFIX,
    'keynames/',
    TOKENS_PREFIX,
    REPLICAS_PREFIX,
    HD_ADDRESSES_PREFIX,
    'ethaddr/',
    ClusterLayout.nodesPrefix,
    ClusterLayout.membersPrefix,
    'cluster/acks/',
  ];
  for (const a of prefixes)
    for (const b of prefixes) if (a !== b) assert.ok(!b.startsWith(a), `${a} contains ${b}`);
  assert.ok(nameKey('n').startsWith('keynames/'));
  assert.ok(ethAddressIndexOf(ADDR).startsWith('ethaddr/'));
  assert.ok(ClusterLayout.acksOf(ID).startsWith('cluster/acks/'));
  for (const single of [ClusterLayout.devCa, BOOTSTRAP_KEY])
    for (const p of prefixes) assert.ok(!single.startsWith(p), `${single} lies under ${p}`);
});

test('each key lies under its kind and, where there is one, its owner', () => {
  assert.equal(keyKey(ID), `keys/${ID}`);
  assert.equal(tokenKey(ID), `tokens/${ID}`);
  assert.ok(replicaKey(ID, 'n1').startsWith(replicasOf(ID)));
  assert.ok(hdAddressKey(ID, ADDR).startsWith(hdAddressesOf(ID)));
  assert.equal(hdAddressKey(ID, ADDR), hdAddressKey(ID, ADDR.toLowerCase()), 'addresses in one case');
  assert.ok(ethAddressIndexKey(ADDR, ID).startsWith(ethAddressIndexOf(ADDR.toLowerCase())));
  assert.ok(ClusterLayout.ack(ID, 7, 'n1').startsWith(ClusterLayout.acksPrefix(ID, 7)));
  assert.ok(ClusterLayout.acksPrefix(ID, 7).startsWith(ClusterLayout.acksOf(ID)));
  assert.equal(nameKey('a name'), nameKey('a name'));
  assert.notEqual(nameKey('a name'), nameKey('a name '));
});

test('a replica key reads back as its key and node; anything else as nothing', () => {
  assert.deepEqual(parseReplicaKey(replicaKey(ID, 'n1')), { keyId: ID, nodeId: 'n1' });
  for (const other of [keyKey(ID), replicasOf(ID), `${replicaKey(ID, 'n1')}/x`, 'replicas//n1'])
    assert.equal(parseReplicaKey(other), undefined, other);
});
