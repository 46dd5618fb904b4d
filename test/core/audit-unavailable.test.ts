// The node refuses to sign when its audit log cannot be written: the entry must be durable
// before a signature exists. A second SQLite connection holding the write lock makes the audit
// commit fail for real; the enclave (real worker pool, counted) must never be asked to sign.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { AuditLog } from '../../src/audit/log.js';
import { Core } from '../../src/core/core.js';
import { bootstrapAdminToken } from '../../src/core/tokens/create.js';
import type { Enclave } from '../../src/enclave/enclave.js';
import { createSoftwareEnclave } from '../../src/enclave/software/pool.js';
import { KeymeshError } from '../../src/errors.js';
import { NodeMetrics } from '../../src/metrics.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { tempDir } from '../helpers/node.js';

let dir: string;
let store: Store;
let enclave: Enclave;
let audit: AuditLog;
let core: Core;
let signCalls = 0;

before(async () => {
  dir = tempDir();
  store = await openSqliteStore(join(dir, 'keymesh.db'));
  const real = await createSoftwareEnclave({ dataDir: dir, dev: true, threads: 1 });
  enclave = {
    kind: real.kind,
    generate: (r) => real.generate(r),
    importKey: (r) => real.importKey(r),
    sign: (k, r) => {
      signCalls++;
      return real.sign(k, r);
    },
    verify: (r) => real.verify(r),
    close: () => real.close(),
  };
  audit = await AuditLog.open({ path: join(dir, 'audit.db'), nodeId: 'n1', busyTimeoutMs: 50 });
  core = new Core({ nodeId: 'n1', version: 'test', store, enclave, audit, metrics: new NodeMetrics() });
});
after(async () => {
  await audit.close();
  await enclave.close();
  await store.close();
});

test('no durable audit entry, no signature; signing resumes once the log is writable', async () => {
  const { token } = await bootstrapAdminToken(core.deps);
  const cred = { bearer: token, requestId: 'r1' };
  const key = await core.createKey(cred, { name: 'k', algorithm: 'secp256k1' });
  const digest = '0x' + '42'.repeat(32);

  const blocker = new Database(join(dir, 'audit.db'));
  blocker.exec('BEGIN IMMEDIATE');
  const before = signCalls;
  await assert.rejects(
    core.sign(cred, key.id, { digest }),
    (e: unknown) => e instanceof KeymeshError && e.code === 'AUDIT_UNAVAILABLE',
  );
  assert.equal(signCalls, before, 'the enclave was not asked to sign');
  blocker.exec('ROLLBACK');
  blocker.close();

  const ok = await core.sign(cred, key.id, { digest });
  assert.match(ok.signature, /^0x[0-9a-f]{128}$/);
  assert.equal(signCalls, before + 1);
  const last = audit.list(0, 1000).at(-1)!;
  assert.equal(last.action, 'key.sign');
  assert.equal(last.keyId, key.id);
});
