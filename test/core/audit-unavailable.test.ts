// The node refuses to sign when its audit log cannot be written: the entry must be durable
// before a signature exists. A second SQLite connection holding the write lock makes the audit
// commit fail for real; the enclave (real worker pool, counted) must never be asked to sign.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { KeymeshError } from '../../src/errors.js';
import { openTestCore, type TestCore } from '../helpers/core.js';

let t: TestCore;
before(async () => {
  t = await openTestCore({ auditBusyTimeoutMs: 50 });
});
after(() => t.close());

test('no durable audit entry, no signature; signing resumes once the log is writable', async () => {
  const cred = await t.adminCredential();
  const key = await t.core.createKey(cred, { name: 'k', algorithm: 'secp256k1' });
  const digest = '0x' + '42'.repeat(32);

  const blocker = new Database(join(t.dir, 'audit.db'));
  blocker.exec('BEGIN IMMEDIATE');
  const before = t.calls.sign;
  await assert.rejects(
    t.core.sign(cred, key.id, { digest }),
    (e: unknown) => e instanceof KeymeshError && e.code === 'AUDIT_UNAVAILABLE',
  );
  assert.equal(t.calls.sign, before, 'the enclave was not asked to sign');
  blocker.exec('ROLLBACK');
  blocker.close();

  const ok = await t.core.sign(cred, key.id, { digest });
  assert.match(ok.signature, /^0x[0-9a-f]{128}$/);
  assert.equal(t.calls.sign, before + 1);
  const last = t.audit.list(0, 1000).at(-1)!;
  assert.equal(last.action, 'key.sign');
  assert.equal(last.keyId, key.id);
});
