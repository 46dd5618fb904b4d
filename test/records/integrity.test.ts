// Checked records (src/records/integrity.ts, enclave/crypto/record-mac.ts): a key or token record
// is used only when its MAC under the integrity key verifies for its kind and id, its fields are
// those of its kind, and it is not older than one seen before. Each refusal is RECORD_INTEGRITY
// with a stable reason; a record verified once is not sent to the enclave again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isKeymeshError } from '../../src/errors.js';
import {
  integrityKeyCheck,
  recordMac,
  recordMacMessage,
  verifyRecordMac,
} from '../../src/enclave/crypto/record-mac.js';
import { canonicalJson } from '../../src/records/canonical.js';
import { RecordIntegrity, type RecordMacs, type RecordRefusal } from '../../src/records/integrity.js';
import { checkKeyRecord } from '../../src/core/keys/record-check.js';
import type { KeyRecord } from '../../src/core/keys/record.js';
import { checkTokenRecord, type TokenRecord } from '../../src/core/tokens/record.js';
import { createSoftwareEnclave } from '../../src/enclave/software/pool.js';
import { INTEGRITY_FILE } from '../../src/enclave/software/integrity.js';
import { newId } from '../../src/util/ids.js';
import { tempDir } from '../helpers/node.js';

const te = new TextEncoder();
const lp = (b: Uint8Array) =>
  Buffer.concat([Buffer.from([0, 0, (b.length >> 8) & 0xff, b.length & 0xff]), b]);

/** The enclave's two calls, in process, over one random key, counting verifications. */
function macs(key = new Uint8Array(randomBytes(32))): RecordMacs & { verifies: number } {
  const m = {
    verifies: 0,
    macRecord: (r: Parameters<RecordMacs['macRecord']>[0]) => Promise.resolve(recordMac(key, r)),
    verifyRecord: (r: Parameters<RecordMacs['verifyRecord']>[0], mac: Uint8Array) => {
      m.verifies++;
      return Promise.resolve(verifyRecordMac(key, r, mac));
    },
  };
  return m;
}

function keyRecord(id = newId()): KeyRecord {
  return {
    id,
    name: 'hot-wallet',
    algorithm: 'secp256k1',
    publicKey: '0x02' + '11'.repeat(32),
    state: 'deactivated',
    createdAt: '2026-12-01T00:00:00.000Z',
    updatedAt: '2026-12-01T00:00:01.000Z',
    labels: { team: 'ops' },
    version: 1,
    seq: 2,
    sealed: 'AQID',
    origin: 'generated',
  };
}

function tokenRecord(id = newId()): TokenRecord {
  return {
    id,
    name: 'payments',
    scopes: ['keys:sign'],
    keyIds: [newId()],
    createdAt: '2026-12-01T00:00:00.000Z',
    expiresAt: null,
    secretHash: 'ab'.repeat(32),
    seq: 1,
  };
}

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(isKeymeshError(e), String(e));
    assert.equal(e.code, 'RECORD_INTEGRITY');
    return (e.details as { reason: string }).reason;
  }
  assert.fail('the record was accepted');
}

const edit = (json: string, f: (v: Record<string, unknown>) => void) => {
  const v = JSON.parse(json) as Record<string, unknown>;
  f(v);
  return JSON.stringify(v);
};

test('the MAC is HMAC-SHA256 over lp(domain) ‖ lp(kind) ‖ lp(id) ‖ lp(body), as the module header says', () => {
  const key = new Uint8Array(32).fill(7);
  const body = te.encode('{"a":1}');
  const msg = Buffer.concat([
    lp(te.encode('keymesh/record/v1')),
    lp(te.encode('key')),
    lp(te.encode('k1')),
    lp(body),
  ]);
  assert.deepEqual(Buffer.from(recordMacMessage({ kind: 'key', id: 'k1', body })), msg);
  const want = createHmac('sha256', key).update(msg).digest();
  const tag = recordMac(key, { kind: 'key', id: 'k1', body });
  assert.deepEqual(Buffer.from(tag), want);
  assert.ok(verifyRecordMac(key, { kind: 'key', id: 'k1', body }, tag));
  // Another kind, id, body or key, or a cut tag: no.
  assert.ok(!verifyRecordMac(key, { kind: 'token', id: 'k1', body }, tag));
  assert.ok(!verifyRecordMac(key, { kind: 'key', id: 'k2', body }, tag));
  assert.ok(!verifyRecordMac(key, { kind: 'key', id: 'k1', body: te.encode('{"a":2}') }, tag));
  assert.ok(!verifyRecordMac(new Uint8Array(32).fill(8), { kind: 'key', id: 'k1', body }, tag));
  assert.ok(!verifyRecordMac(key, { kind: 'key', id: 'k1', body }, tag.subarray(0, 31)));
  // The check value is its own domain: never a record's MAC.
  assert.deepEqual(
    Buffer.from(integrityKeyCheck(key)),
    createHmac('sha256', key)
      .update(lp(te.encode('keymesh/record/v1 check')))
      .digest(),
  );
  // Inputs are checked, with explicit lengths.
  for (const bad of [
    () => recordMac(new Uint8Array(31), { kind: 'key', id: 'k1', body }),
    () => recordMac(key, { kind: 'user' as 'key', id: 'k1', body }),
    () => recordMac(key, { kind: 'key', id: '', body }),
    () => recordMac(key, { kind: 'key', id: 'x'.repeat(257), body }),
    () => recordMac(key, { kind: 'key', id: 'k1', body: 'text' as unknown as Uint8Array }),
  ])
    assert.throws(bad, (e: unknown) => isKeymeshError(e) && e.code === 'INVALID_REQUEST');
});

test('canonical JSON: member order does not matter, anything but plain JSON values is refused', () => {
  assert.equal(
    canonicalJson({ b: [1, 'x', null], a: { d: true, c: -0 } }),
    '{"a":{"c":0,"d":true},"b":[1,"x",null]}',
  );
  assert.equal(canonicalJson({ a: 1, skip: undefined }), '{"a":1}');
  for (const bad of [1.5, NaN, '\ud800', new Date(0), [1n]])
    assert.throws(
      () => canonicalJson({ v: bad }),
      (e: unknown) => isKeymeshError(e) && e.code === 'RECORD_INTEGRITY',
    );
});

test('a sealed key record opens to its typed value; edited, moved, unMACd or re-kinded ones are refused', async () => {
  const m = macs();
  const seen: RecordRefusal[] = [];
  const ri = new RecordIntegrity(m, (r) => seen.push(r));
  const rec = keyRecord();
  const json = await ri.seal('key', rec.id, rec);
  assert.deepEqual(await ri.open('key', rec.id, json, checkKeyRecord), rec);

  // The attack of the issue: a deactivated key flipped back to active in the store.
  assert.equal(
    await refusal(
      ri.open(
        'key',
        rec.id,
        edit(json, (v) => (v.state = 'active')),
        checkKeyRecord,
      ),
    ),
    'mac',
  );
  // A record copied under another id, whatever its own id field says.
  const other = newId();
  assert.equal(await refusal(ri.open('key', other, json, checkKeyRecord)), 'mac');
  assert.equal(
    await refusal(
      ri.open(
        'key',
        other,
        edit(json, (v) => (v.id = other)),
        checkKeyRecord,
      ),
    ),
    'mac',
  );
  // Written without a MAC (an older build), or with a malformed one.
  assert.equal(
    await refusal(
      ri.open(
        'key',
        rec.id,
        edit(json, (v) => delete v.mac),
        checkKeyRecord,
      ),
    ),
    'missing-mac',
  );
  assert.equal(
    await refusal(
      ri.open(
        'key',
        rec.id,
        edit(json, (v) => (v.mac = 'zz')),
        checkKeyRecord,
      ),
    ),
    'missing-mac',
  );
  assert.equal(await refusal(ri.open('key', rec.id, '{not json', checkKeyRecord)), 'json');
  // A key record's MAC does not make a token record, even under the same id.
  const tok = tokenRecord(rec.id);
  const tokJson = await ri.seal('token', tok.id, tok);
  assert.equal(await refusal(ri.open('key', rec.id, tokJson, checkKeyRecord)), 'mac');
  assert.equal(await refusal(ri.open('token', rec.id, json, checkTokenRecord)), 'mac');
  // MAC'd, but not a key record's fields (a node never writes one): refused by the checker.
  const odd = await ri.seal('key', rec.id, { ...rec, owner: 'eve' } as KeyRecord);
  assert.equal(await refusal(ri.open('key', rec.id, odd, checkKeyRecord)), 'shape');
  const bad = await ri.seal('key', rec.id, { ...rec, state: 'frozen' } as unknown as KeyRecord);
  assert.equal(await refusal(ri.open('key', rec.id, bad, checkKeyRecord)), 'shape');
  // Each refused text was reported once, with its reason; nothing else.
  assert.ok(seen.every((r) => r.kind === 'key' || r.kind === 'token'));
  assert.ok(seen.some((r) => r.reason === 'mac' && r.id === other));
});

test('token records: widened scopes or keyIds and an undone revocation are refused', async () => {
  const ri = new RecordIntegrity(macs(), () => undefined);
  const tok = tokenRecord();
  const json = await ri.seal('token', tok.id, tok);
  assert.deepEqual(await ri.open('token', tok.id, json, checkTokenRecord), tok);
  const widened = edit(json, (v) => (v.scopes = ['admin']));
  assert.equal(await refusal(ri.open('token', tok.id, widened, checkTokenRecord)), 'mac');
  assert.equal(
    await refusal(
      ri.open(
        'token',
        tok.id,
        edit(json, (v) => (v.keyIds = null)),
        checkTokenRecord,
      ),
    ),
    'mac',
  );
  const tombstone: TokenRecord = { ...tok, seq: 2, revokedAt: '2026-12-02T00:00:00.000Z' };
  const revoked = await ri.seal('token', tok.id, tombstone);
  assert.equal(
    (await ri.open('token', tok.id, revoked, checkTokenRecord)).revokedAt,
    '2026-12-02T00:00:00.000Z',
  );
  const unrevoked = edit(revoked, (v) => delete v.revokedAt);
  assert.equal(await refusal(ri.open('token', tok.id, unrevoked, checkTokenRecord)), 'mac');
  // Replaying the token's earlier, validly MAC'd text: refused once this node saw the revocation.
  assert.equal(await refusal(ri.open('token', tok.id, json, checkTokenRecord)), 'rollback');
});

test('rollback: an older seq is refused, or for a watch-fed copy answered as stale; verified text is memoised', async () => {
  const m = macs();
  const ri = new RecordIntegrity(m, () => undefined);
  const v1 = { ...keyRecord(), state: 'active' as const, seq: 1 };
  const v2 = { ...v1, state: 'deactivated' as const, seq: 2 };
  const j1 = await ri.seal('key', v1.id, v1);
  const j2 = await ri.seal('key', v2.id, v2);
  await ri.open('key', v1.id, j1, checkKeyRecord);
  await ri.open('key', v2.id, j2, checkKeyRecord);
  assert.equal(await refusal(ri.open('key', v1.id, j1, checkKeyRecord)), 'rollback');
  assert.equal(await ri.open('key', v1.id, j1, checkKeyRecord, { mayBeStale: true }), undefined);
  // The same text again: answered without the enclave.
  const before = m.verifies;
  for (let i = 0; i < 100; i++)
    assert.equal((await ri.open('key', v2.id, j2, checkKeyRecord)).state, 'deactivated');
  assert.equal(m.verifies, before);
  // What open returns cannot be changed behind the memo's back.
  const got = await ri.open('key', v2.id, j2, checkKeyRecord);
  assert.throws(() => ((got as { state: string }).state = 'active'));
});

test('the software enclave makes its integrity key at first start, keeps it sealed, and MACs with it', async () => {
  const dir = tempDir();
  const e1 = await createSoftwareEnclave({ dataDir: dir, dev: true, threads: 1 });
  let json: string;
  const rec = keyRecord();
  try {
    assert.ok(existsSync(join(dir, INTEGRITY_FILE)));
    assert.match(e1.integrity.check()!, /^0x[0-9a-f]{64}$/);
    json = await new RecordIntegrity(e1).seal('key', rec.id, rec);
  } finally {
    await e1.close();
  }
  const sealedBytes = readFileSync(join(dir, INTEGRITY_FILE));
  // Restarted on the same data dir: the same key, so the record still opens.
  const e2 = await createSoftwareEnclave({ dataDir: dir, dev: true, threads: 2 });
  try {
    assert.deepEqual(readFileSync(join(dir, INTEGRITY_FILE)), sealedBytes);
    assert.deepEqual(await new RecordIntegrity(e2).open('key', rec.id, json, checkKeyRecord), rec);
    assert.equal(
      await refusal(
        new RecordIntegrity(e2, () => undefined).open(
          'key',
          rec.id,
          edit(json, (v) => (v.state = 'active')),
          checkKeyRecord,
        ),
      ),
      'mac',
    );
  } finally {
    await e2.close();
  }
  // Another node's enclave (another key): the record is not its cluster's.
  const e3 = await createSoftwareEnclave({ dataDir: tempDir(), dev: true, threads: 1 });
  try {
    assert.equal(
      await refusal(new RecordIntegrity(e3, () => undefined).open('key', rec.id, json, checkKeyRecord)),
      'mac',
    );
  } finally {
    await e3.close();
  }
});
